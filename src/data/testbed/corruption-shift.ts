// An ImageNet-C-style shift of a built testbed's reference: every reference eval image (and its -full set) gets
// one of the benchmark corruptions, drawn per image, at one severity, written as eval/<reference>-corrupted and
// listed in testbed.json as a synthetic shift. Images are corrupted at 224 px (the scale the corruption
// parameters are defined at: upsampled with Pillow's bilinear filter) and resized back to their own size.
// Images are corrupted on a pool of worker threads (one per core): each image's random draws come from its own
// seeded stream, so the files do not depend on the number of threads.
import { createHash } from 'node:crypto';
import { availableParallelism } from 'node:os';
import { promises as fsp } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import { corruptImage, CORRUPTION_NAMES, type CorruptFlags } from '../images/corruptions/index.js';
import { pillowResize } from '../images/corruptions/filters.js';
import { withDirLock } from '../../util/dir-lock.js';
import { writeJsonAtomic } from '../../util/fs.js';
import { InputError } from '../../util/errors.js';
import { Rng } from '../../util/rng.js';
import { WorkerPool, workerEntry } from '../../util/worker-pool.js';
import { MANIFEST_FILE, readTestbedManifest, type TestbedEvalSet, type TestbedManifest } from './manifest.js';

export const CORRUPTED_SUFFIX = '-corrupted';
const FULL = '-full';
/** Below this many images the shift is corrupted on the calling thread. */
const SMALL_SHIFT = 64;

export type CorruptionShiftOptions = Pick<CorruptFlags, 'severity' | 'corruptions' | 'seed'>;

const sha256 = (b: Uint8Array | string) => createHash('sha256').update(b).digest('hex');

async function corruptOne(png: Uint8Array, name: string, severity: number, rng: Rng): Promise<Buffer> {
  const { data, info } = await sharp(png).flatten({ background: '#ffffff' }).removeAlpha().raw().toBuffer({ resolveWithObject: true });
  const rgb = new Uint8Array(data.buffer, data.byteOffset, data.length);
  const S = 224;
  const up = info.width === S && info.height === S ? rgb : pillowResize(rgb, info.width, info.height, S, S, 'bilinear');
  const bad = await corruptImage(up, S, S, name, severity, rng);
  const back = info.width === S && info.height === S ? bad : pillowResize(bad, S, S, info.width, info.height, 'bilinear');
  return sharp(back, { raw: { width: info.width, height: info.height, channels: 3 } }).png().toBuffer();
}

export interface CorruptTask {
  png: Uint8Array;
  /** The image's seed (decimal): its stream draws the corruption, then the corruption's own randomness. */
  seed: string;
  corruptions: string[];
  severity: number;
}

/** One image of the shift: which corruption it drew, and the corrupted PNG. */
export async function corruptTask(t: CorruptTask): Promise<{ corruption: string; png: Uint8Array }> {
  const rng = new Rng(BigInt(t.seed));
  const corruption = t.corruptions[rng.int(t.corruptions.length)]!;
  return { corruption, png: await corruptOne(t.png, corruption, t.severity, rng) };
}

class CorruptPool extends WorkerPool<CorruptTask, { corruption: string; png: Uint8Array }> {
  constructor(threads: number) {
    super(threads, () => workerEntry(import.meta.url, 'corruption-worker'), corruptTask, 'corruption worker');
  }
}

async function corruptSet(tb: string, src: TestbedEvalSet, name: string, o: Required<CorruptionShiftOptions>, pool: CorruptPool, tick: () => void): Promise<TestbedEvalSet> {
  const from = join(tb, src.dir);
  const stage = join(tb, 'eval', `.tmp-${name}`);
  await fsp.rm(stage, { recursive: true, force: true });
  const lines: string[] = [];
  const drawn: Record<string, string> = {};
  const dirs = (await fsp.readdir(from, { withFileTypes: true })).filter((d) => d.isDirectory()).map((d) => d.name).sort();
  const files: string[] = [];
  for (const dir of dirs) {
    await fsp.mkdir(join(stage, dir), { recursive: true });
    for (const f of (await fsp.readdir(join(from, dir))).filter((f) => f.endsWith('.png')).sort()) files.push(`${dir}/${f}`);
  }
  // A few images per thread in flight; results are taken in file order, so corruptions.json is too.
  const start = async (rel: string) => {
    const seed = createHash('sha256').update(`${o.seed}\u0000${name}\u0000${rel}`).digest().readBigUInt64LE(0).toString();
    return pool.run({ png: await fsp.readFile(join(from, rel)), seed, corruptions: o.corruptions, severity: o.severity });
  };
  const window = Math.max(1, pool.threads) * 4;
  const queue = files.slice(0, window).map(start);
  for (const [i, rel] of files.entries()) {
    const { corruption, png } = await queue.shift()!;
    if (i + window < files.length) queue.push(start(files[i + window]!));
    await fsp.writeFile(join(stage, rel), png);
    lines.push(`${rel}\t${sha256(png)}\n`);
    drawn[rel] = corruption;
    tick();
  }
  for (const f of ['classes.json', 'classnames.json']) await fsp.copyFile(join(from, f), join(stage, f)).catch(() => undefined);
  await fsp.writeFile(join(stage, 'corruptions.json'), JSON.stringify({ severity: o.severity, seed: o.seed, images: drawn }, null, 1) + '\n');
  const target = join(tb, 'eval', name);
  await fsp.rm(target, { recursive: true, force: true });
  await fsp.rename(stage, target);
  return { ...src, name, role: 'shift', kind: 'synthetic', dir: `eval/${name}`, images: lines.length, sha256: sha256(lines.sort().join('')) };
}

/** Writes `<reference>-corrupted` (and its -full variant) into the testbed at `tb` and lists them in testbed.json. */
export async function addCorruptionShift(tb: string, opts: CorruptionShiftOptions = {}): Promise<TestbedEvalSet[]> {
  const o = resolve(opts);
  return withDirLock(tb, 'corrupt --testbed', () => addLocked(tb, o));
}

function resolve(opts: CorruptionShiftOptions): Required<CorruptionShiftOptions> {
  const o = { severity: opts.severity ?? 3, corruptions: opts.corruptions ?? CORRUPTION_NAMES.slice(0, 15), seed: opts.seed ?? 0 };
  if (!Number.isInteger(o.severity) || o.severity < 1 || o.severity > 5) throw new InputError('--severity', `${o.severity} is not 1 … 5`);
  for (const c of o.corruptions) if (!(CORRUPTION_NAMES as readonly string[]).includes(c)) throw new InputError('--corruptions', `unknown corruption '${c}'`);
  return o;
}

async function addLocked(tb: string, o: Required<CorruptionShiftOptions>): Promise<TestbedEvalSet[]> {
  const manifest = readTestbedManifest(tb);
  const added = await corruptReference(tb, manifest, o);
  await writeJsonAtomic(join(tb, MANIFEST_FILE), manifest);
  return added;
}

/**
 * Renders the corrupted reference sets of the testbed at `tb` and lists them in `manifest` (in memory: the
 * caller writes it). `testbed build --corruption-severity` calls it before its manifest is first written. `threads`:
 * worker threads (default one per core; none for a small shift).
 */
export async function corruptReference(
  tb: string, manifest: TestbedManifest, opts: CorruptionShiftOptions = {}, tick: () => void = () => undefined, threads?: number,
): Promise<TestbedEvalSet[]> {
  const o = resolve(opts);
  const name = manifest.reference + CORRUPTED_SUFFIX;
  const added: TestbedEvalSet[] = [];
  const sources = manifest.eval.filter((e) => e.name === manifest.reference || e.name === manifest.reference + FULL);
  // Starting the threads costs more than a few images take.
  const images = sources.reduce((a, e) => a + e.images, 0);
  const pool = new CorruptPool(threads ?? (images < SMALL_SHIFT ? 0 : availableParallelism()));
  try {
    for (const src of sources)
      added.push(await corruptSet(tb, src, src.full ? name + FULL : name, o, pool, tick));
  } finally {
    await pool.close();
  }
  const names = new Set(added.map((a) => a.name));
  manifest.eval = [...manifest.eval.filter((e) => !names.has(e.name)), ...added];
  if (!manifest.shifts.includes(name)) manifest.shifts.push(name);
  return added;
}
