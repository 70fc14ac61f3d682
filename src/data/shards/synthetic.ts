// Synthetic image-text samples (seeded gradients and solid colors, encoded by sharp) for tests and `bench data`.
import sharp from 'sharp';
import { Rng } from '../../util/rng.js';
import type { ImageExt, ShardSample } from './writer.js';

export interface SyntheticOptions {
  /** Image side in pixels; default 64. */
  size?: number;
  /** Default 'png'. */
  ext?: ImageExt;
  /** Key prefix; default 's'. */
  keyPrefix?: string;
  seed?: number;
  /** Width/height; default square. */
  width?: number;
  height?: number;
  /** Add an alpha channel (half-transparent) to exercise flattening. */
  alpha?: boolean;
}

/** Raw RGB(A) gradient pixels for sample `i`: a diagonal gradient between two seeded colors. */
function gradient(i: number, w: number, h: number, ch: number, seed: number): Buffer {
  const rng = new Rng(seed * 1_000_003 + i);
  const a = [rng.int(256), rng.int(256), rng.int(256)];
  const b = [rng.int(256), rng.int(256), rng.int(256)];
  const buf = Buffer.alloc(w * h * ch);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const t = (x + y) / Math.max(1, w + h - 2);
      const o = (y * w + x) * ch;
      for (let c = 0; c < 3; c++) buf[o + c] = Math.round(a[c]! * (1 - t) + b[c]! * t);
      if (ch === 4) buf[o + 3] = 128;
    }
  }
  return buf;
}

/** Encodes a generated image for sample `i`. */
export async function syntheticImage(i: number, opts: SyntheticOptions = {}): Promise<Uint8Array> {
  const w = opts.width ?? opts.size ?? 64;
  const h = opts.height ?? opts.size ?? 64;
  const ch = opts.alpha ? 4 : 3;
  const img = sharp(gradient(i, w, h, ch, opts.seed ?? 0), { raw: { width: w, height: h, channels: ch } });
  const ext = opts.ext ?? 'png';
  const out = ext === 'jpg' ? img.jpeg({ quality: 90 }) : ext === 'webp' ? img.webp({ quality: 90 }) : img.png();
  return new Uint8Array(await out.toBuffer());
}

const WORDS = ['a', 'photo', 'of', 'the', 'red', 'blue', 'cat', 'dog', 'emoji', 'small', 'big', 'tree', 'car', 'house'];

/** Sample `i`: a generated image, a short seeded caption, and meta with source/id/size. */
export async function syntheticSample(i: number, opts: SyntheticOptions = {}): Promise<ShardSample> {
  const rng = new Rng((opts.seed ?? 0) * 7919 + i);
  const n = 3 + rng.int(6);
  const caption = Array.from({ length: n }, () => WORDS[rng.int(WORDS.length)]).join(' ');
  const size = opts.size ?? 64;
  return {
    key: `${opts.keyPrefix ?? 's'}${String(i).padStart(6, '0')}`,
    image: await syntheticImage(i, opts),
    imageExt: opts.ext ?? 'png',
    caption,
    meta: { source: 'synthetic', id: i, width: opts.width ?? size, height: opts.height ?? size },
  };
}
