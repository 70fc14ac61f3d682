// `corruptFolder`: an ImageNet-C-style copy of an ImageFolder — every image resized and centre-cropped as the
// benchmark prepares ImageNet val (Resize(256), CenterCrop(224), Pillow bilinear), then corrupted per
// (corruption, severity) into OUT/<corruption>/<severity>/<class>/<name>.jpg (JPEG quality 85, as released).
import { createHash } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, readdirSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { extname, join, relative } from 'node:path';
import sharp from 'sharp';
import { toRgb } from '../data/images/alpha.js';
import { corruptImage, CORRUPTION_NAMES, type CorruptFlags, type CorruptOptions } from '../data/images/corruptions/index.js';
import { pillowResize } from '../data/images/corruptions/filters.js';
import { withDirLock } from '../util/dir-lock.js';
import { checkCorruptInput } from './corrupt-inputs.js';
import { InputError } from '../util/errors.js';
import { writeFileAtomic } from '../util/fs.js';
import { Rng } from '../util/rng.js';
import { IMAGE_EXTENSIONS, readImageFolder } from './image-folder.js';

export type CorruptFolderOptions = Pick<CorruptFlags, 'corruptions' | 'severities' | 'seed' | 'size' | 'format' | 'frostDir'> & {
  input: string;
  out: string;
  onImage?: () => void;
  onSkip?: (file: string, reason: string) => void;
};

export interface CorruptFolderResult {
  written: number;
  skipped: { file: string; reason: string }[];
  sets: string[];
}

/** Python's round() (half to even), which torchvision's CenterCrop uses for the offset. */
const pyRound = (x: number): number => {
  const f = Math.floor(x);
  const d = x - f;
  return d > 0.5 ? f + 1 : d < 0.5 ? f : f % 2 === 0 ? f : f + 1;
};

/** torchvision Resize(round(size·256/224)) on the short side (Pillow bilinear), then CenterCrop(size). */
export function prepareCrop(rgb: Uint8Array, w: number, h: number, size: number): { rgb: Uint8Array; w: number; h: number } {
  if (size === 0) return { rgb, w, h };
  const short = Math.round((size * 256) / 224);
  const [rw, rh] = w <= h ? [short, Math.trunc((short * h) / w)] : [Math.trunc((short * w) / h), short];
  const resized = rw === w && rh === h ? rgb : pillowResize(rgb, w, h, rw, rh, 'bilinear');
  const top = pyRound((rh - size) / 2);
  const left = pyRound((rw - size) / 2);
  const out = new Uint8Array(size * size * 3);
  for (let y = 0; y < size; y++) out.set(resized.subarray(((top + y) * rw + left) * 3, ((top + y) * rw + left + size) * 3), y * size * 3);
  return { rgb: out, w: size, h: size };
}

/** RGB as ImageNet-C's maker loads it (torchvision's loader: Pillow's convert('RGB'), transparency dropped). */
async function decodeRgb(file: string): Promise<{ rgb: Uint8Array; w: number; h: number }> {
  const { data, info } = await sharp(await readFile(file), { failOn: 'error' }).toColourspace('srgb').raw().toBuffer({ resolveWithObject: true });
  const raw = new Uint8Array(data.buffer, data.byteOffset, data.length);
  return { rgb: toRgb(raw, info.channels, info.width * info.height, 'drop'), w: info.width, h: info.height };
}

function imageSeed(seed: number, key: string): bigint {
  return createHash('sha256').update(`${seed}\u0000${key}`).digest().readBigUInt64LE(0);
}

/** One writer per output directory: `out` is held while it is written. */
export async function corruptFolder(o: CorruptFolderOptions): Promise<CorruptFolderResult> {
  return withDirLock(o.out, 'corrupt', () => corruptInto(o));
}

async function corruptInto(o: CorruptFolderOptions): Promise<CorruptFolderResult> {
  const corruptions = o.corruptions ?? CORRUPTION_NAMES.slice(0, 15);
  for (const c of corruptions) if (!(CORRUPTION_NAMES as readonly string[]).includes(c)) throw new InputError('--corruptions', `unknown corruption '${c}' (have ${CORRUPTION_NAMES.join(', ')})`);
  const severities = o.severities ?? [1, 2, 3, 4, 5];
  const size = o.size ?? 224;
  const seed = o.seed ?? 0;
  const ext = o.format === 'png' ? '.png' : '.jpg';
  const folder = readImageFolder(o.input);
  await checkCorruptInput(o.out, folder.root, folder.samples.map((x) => x.file));
  const opts: CorruptOptions = {};
  if (o.frostDir !== undefined) {
    const files = existsSync(o.frostDir)
      ? readdirSync(o.frostDir).filter((f) => IMAGE_EXTENSIONS.includes(extname(f).toLowerCase())).sort().map((f) => join(o.frostDir!, f))
      : [];
    if (files.length === 0) throw new InputError(o.frostDir, 'no frost texture images here');
    opts.frost = await Promise.all(files.map(decodeRgb));
  }
  const skipped: CorruptFolderResult['skipped'] = [];
  const sets = corruptions.flatMap((c) => severities.map((s) => join(c, String(s))));
  let written = 0;
  for (const sample of folder.samples) {
    const rel = relative(folder.root, sample.file);
    let img;
    try {
      const d = await decodeRgb(sample.file);
      img = prepareCrop(d.rgb, d.w, d.h, size);
    } catch (e) {
      skipped.push({ file: sample.file, reason: (e as Error).message });
      o.onSkip?.(sample.file, (e as Error).message);
      continue;
    }
    for (const c of corruptions)
      for (const s of severities) {
        const out = await corruptImage(img.rgb, img.w, img.h, c, s, new Rng(imageSeed(seed, `${c}/${s}/${rel}`)), opts);
        const enc = sharp(out, { raw: { width: img.w, height: img.h, channels: 3 } });
        const bytes = ext === '.png' ? await enc.png().toBuffer() : await enc.jpeg({ quality: 85, chromaSubsampling: '4:2:0' }).toBuffer();
        const target = join(o.out, c, String(s), rel.replace(/\.[^./]+$/, '') + ext);
        await writeFileAtomic(target, bytes);
        written++;
      }
    o.onImage?.();
  }
  // Class names travel with each set, so every set reads like the input folder.
  for (const f of ['classes.json', 'classnames.json'])
    if (existsSync(join(folder.root, f)))
      for (const set of sets) {
        mkdirSync(join(o.out, set), { recursive: true });
        copyFileSync(join(folder.root, f), join(o.out, set, f));
      }
  return { written, skipped, sets };
}
