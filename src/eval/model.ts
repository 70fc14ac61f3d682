// A model opened for evaluation: both encoders as ORT sessions, its head cache, and the provenance results
// carry (run dir, weights hash, config, samples_seen / seed / design from the run's params.json / summary.json).
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { sha256File } from '../util/content-hash.js';
import { open } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { ClipEncoders } from '../models/encoders.js';
import { loadClipModel } from '../models/load.js';
import type { Device } from '../runtime/index.js';
import { warn } from '../util/log.js';
import type { HeadCache, TextTower } from './zeroshot-head.js';

/** What evaluation needs from a model (ClipEncoders behind it; tests stub it). */
export interface EvalModel extends TextTower {
  /** Result `model` id. */
  id: string;
  imageSize: number;
  /** images [n, 3, S, S] normalized → embeddings [n, embedDim] (not normalized). */
  encodeImages(images: Float32Array, n: number): Promise<Float32Array>;
  headCache?: HeadCache;
  info: ModelInfo;
  release(): Promise<void>;
}

/** Provenance of a model; every field read defensively (absent files or keys leave it undefined). */
export interface ModelInfo {
  /** As given (run dir or checkpoint). */
  path: string;
  /** The weights file read. */
  file?: string;
  runDir?: string;
  sha256?: string;
  config?: unknown;
  samplesSeen?: number;
  seed?: number;
  design?: string;
  designInfo?: unknown;
}

export interface OpenEvalModelOptions {
  /** Run directory or checkpoint file. */
  path: string;
  /** Config name or JSON path when none sits beside the checkpoint. */
  config?: string;
  /** Result id; default from the path (run dir name, `RUN@checkpoint` for a checkpoint in RUN/checkpoints/). */
  id?: string;
  threads?: number;
  device?: Device;
  /** Head cache directory; default `<weights dir>/.cliplab-cache/zeroshot-heads`; null disables caching. */
  cacheDir?: string | null;
}

/** The run directory of a weights file: its own dir, or the parent of `checkpoints/`. */
export function runDirOf(file: string): string {
  const dir = dirname(resolve(file));
  return basename(dir) === 'checkpoints' ? dirname(dir) : dir;
}

export function defaultModelId(path: string, file: string): string {
  const stem = basename(file).replace(/\.safetensors(\.gz)?$/, '');
  const dir = dirname(resolve(file));
  // An OpenCLIP hub model: its repository name (hf-hub:org/NAME, or a cache snapshot of models--org--NAME).
  if (stem.startsWith('open_clip_')) {
    if (path.startsWith('hf-hub:')) return path.split('@')[0]!.split('/').pop()!;
    const entry = basename(dirname(dirname(dir)));
    return basename(dirname(dir)) === 'snapshots' && entry.startsWith('models--') ? entry.split('--').pop()! : basename(dir);
  }
  if (basename(dir) === 'checkpoints') return `${basename(dirname(dir))}@${stem}`;
  if (stem === 'model') return basename(dir);
  return existsSync(path) && resolve(path) === dir ? basename(dir) : stem;
}

function readJsonQuiet(file: string): Record<string, unknown> | undefined {
  if (!existsSync(file)) return undefined;
  try {
    const v: unknown = JSON.parse(readFileSync(file, 'utf8'));
    if (v !== null && typeof v === 'object' && !Array.isArray(v)) return v as Record<string, unknown>;
    warn(`${file}: not a JSON object; ignored`);
  } catch (e) {
    warn(`${file}: unreadable (${(e as Error).message}); ignored`);
  }
  return undefined;
}

const pick = (objs: (Record<string, unknown> | undefined)[], keys: string[]): unknown => {
  for (const o of objs) for (const k of keys) if (o && o[k] !== undefined && o[k] !== null) return o[k];
  return undefined;
};
const asInt = (v: unknown): number | undefined => (typeof v === 'number' && Number.isSafeInteger(v) ? v : typeof v === 'string' && /^-?\d+$/.test(v) ? Number(v) : undefined);

/** samples_seen, seed, design, design_info from `RUN/summary.json` (first) and `RUN/params.json`. */
export function readRunInfo(runDir: string): Pick<ModelInfo, 'samplesSeen' | 'seed' | 'design' | 'designInfo'> {
  const summary = readJsonQuiet(join(runDir, 'summary.json'));
  const params = readJsonQuiet(join(runDir, 'params.json'));
  const both = [summary, params];
  const samples = asInt(pick(both, ['samples_seen', 'samplesSeen']));
  const seed = asInt(pick(both, ['seed']));
  const design = pick(both, ['design', 'design_name', 'designName']);
  const designInfo = pick(both, ['design_info', 'designInfo']);
  return {
    samplesSeen: samples !== undefined && samples >= 0 ? samples : undefined,
    seed,
    design: typeof design === 'string' && design !== '' ? design : undefined,
    designInfo: designInfo !== null && typeof designInfo === 'object' ? designInfo : undefined,
  };
}

/** The `__metadata__` of a plain safetensors file (header only); {} when absent or unreadable. */
export async function safetensorsMetadata(file: string): Promise<Record<string, string>> {
  if (!file.endsWith('.safetensors')) return {};
  try {
    const fh = await open(file, 'r');
    try {
      const len = Buffer.alloc(8);
      await fh.read(len, 0, 8, 0);
      const n = Number(len.readBigUInt64LE(0));
      if (n <= 0 || n > 100_000_000) return {};
      const head = Buffer.alloc(n);
      await fh.read(head, 0, n, 8);
      const meta = (JSON.parse(head.toString('utf8')) as { __metadata__?: Record<string, string> }).__metadata__;
      return meta ?? {};
    } finally {
      await fh.close();
    }
  } catch {
    return {};
  }
}

/**
 * Run info for a weights file: a training checkpoint (`RUN/checkpoints/*.safetensors`) reports its own
 * `trainer.samples_seen` / `trainer.seed` metadata (the run's summary.json describes the final model); the
 * final model takes summary.json, then params.json, then its metadata.
 */
export async function runInfoFor(file: string): Promise<Pick<ModelInfo, 'samplesSeen' | 'seed' | 'design' | 'designInfo'>> {
  const fromRun = readRunInfo(runDirOf(file));
  const meta = await safetensorsMetadata(file);
  const metaSamples = asInt(meta['trainer.samples_seen']);
  const metaSeed = asInt(meta['trainer.seed']);
  const isCheckpoint = basename(dirname(resolve(file))) === 'checkpoints';
  return {
    ...fromRun,
    samplesSeen: isCheckpoint ? (metaSamples ?? fromRun.samplesSeen) : (fromRun.samplesSeen ?? metaSamples),
    seed: isCheckpoint ? (metaSeed ?? fromRun.seed) : (fromRun.seed ?? metaSeed),
  };
}

export async function openEvalModel(opts: OpenEvalModelOptions): Promise<EvalModel> {
  const loaded = await loadClipModel(opts.path, opts.config);
  const sha256 = await sha256File(loaded.file);
  const runDir = runDirOf(loaded.file);
  const enc = await ClipEncoders.create(loaded.config, loaded.weights, { threads: opts.threads, device: opts.device });
  const cacheDir = opts.cacheDir === null ? null : (opts.cacheDir ?? join(dirname(loaded.file), '.cliplab-cache', 'zeroshot-heads'));
  const modelKey = createHash('sha256').update(sha256).update(JSON.stringify(loaded.config)).digest('hex');
  return {
    id: opts.id ?? defaultModelId(opts.path, loaded.file),
    imageSize: loaded.config.vision_cfg.image_size,
    contextLength: loaded.config.text_cfg.context_length,
    embedDim: loaded.config.embed_dim,
    encodeImages: (x, n) => enc.encodeImages(x, n),
    encodeTexts: (t, n) => enc.encodeTexts(t, n),
    headCache: cacheDir ? { dir: cacheDir, modelKey, modelFile: resolve(loaded.file) } : undefined,
    info: { path: opts.path, file: resolve(loaded.file), runDir, sha256, config: loaded.config, ...(await runInfoFor(loaded.file)) },
    release: () => enc.release(),
  };
}
