// Perceptual hash of an image (the DCT "pHash" of imagehash.phash): grey, resized to 32×32, 2-D DCT, the
// 8×8 lowest frequencies compared with their median → 64 bits, of the whole image or of crop boxes of it.
// Re-encoded and resized copies have hashes a few bits apart, unrelated images about 32; a crop is close to
// the hash of the same box of the original (see CROP_GRID). Hand-written: a 32×32 DCT is a few thousand
// multiply-adds and no library in our stack has one.
import sharp from 'sharp';
import { ImageDecodeError } from './transform.js';

/** A 64-bit perceptual hash as two unsigned 32-bit halves. */
export interface PHash {
  hi: number;
  lo: number;
}

const N = 32;
const K = 8;
/** COS[k][n] = cos(π (2n + 1) k / 2N), the DCT-II basis (unnormalised: the median test ignores scale). */
const COS: Float64Array[] = Array.from({ length: K }, (_, k) => Float64Array.from({ length: N }, (_, n) => Math.cos((Math.PI * (2 * n + 1) * k) / (2 * N))));

/** The hash of 32×32 grey pixels (row-major). */
export function phashOfGrey(px: Uint8Array | Float64Array): PHash {
  // Rows first: R[y][k] = Σ_x px[y][x] COS[k][x]; then columns: D[j][k] = Σ_y COS[j][y] R[y][k].
  const rows = new Float64Array(N * K);
  for (let y = 0; y < N; y++) {
    for (let k = 0; k < K; k++) {
      const c = COS[k]!;
      let s = 0;
      for (let x = 0; x < N; x++) s += px[y * N + x]! * c[x]!;
      rows[y * K + k] = s;
    }
  }
  const d = new Float64Array(K * K);
  for (let j = 0; j < K; j++) {
    const c = COS[j]!;
    for (let k = 0; k < K; k++) {
      let s = 0;
      for (let y = 0; y < N; y++) s += c[y]! * rows[y * K + k]!;
      d[j * K + k] = s;
    }
  }
  const sorted = Float64Array.from(d).sort();
  const median = (sorted[31]! + sorted[32]!) / 2;
  let hi = 0;
  let lo = 0;
  for (let i = 0; i < 64; i++) {
    if (!(d[i]! > median)) continue;
    if (i < 32) hi |= 1 << (31 - i);
    else lo |= 1 << (63 - i);
  }
  return { hi: hi >>> 0, lo: lo >>> 0 };
}

/** A crop box in fractions of the image's width and height: [x0, y0, x1, y1]. */
export type HashBox = readonly [number, number, number, number];

export const FULL_IMAGE: HashBox = [0, 0, 1, 1];

/**
 * Boxes whose hashes an index of reference images stores so that crops of them are found too: the whole
 * image, and at 95%, 90%, 85% and 80% of each side, the nine placements from corner to corner (37 boxes).
 * A crop keeping at least 80% of each side lies within a few percent of one of them.
 */
export const CROP_GRID: readonly HashBox[] = [
  FULL_IMAGE,
  ...[0.95, 0.9, 0.85, 0.8].flatMap((s) => [0, (1 - s) / 2, 1 - s].flatMap((y) => [0, (1 - s) / 2, 1 - s].map((x): HashBox => [x, y, x + s, y + s]))),
];

/** Side of the grey image boxes are cut from. */
const WORK = 128;

/** Weights of source pixels [0, WORK) for output pixel i of n over [a, b) (fractions): area averaging. */
function boxWeights(a: number, b: number, n: number): { start: number; w: Float64Array }[] {
  const out: { start: number; w: Float64Array }[] = [];
  for (let i = 0; i < n; i++) {
    const lo = (a + ((b - a) * i) / n) * WORK;
    const hi = (a + ((b - a) * (i + 1)) / n) * WORK;
    const start = Math.floor(lo);
    const end = Math.min(WORK, Math.ceil(hi));
    const w = new Float64Array(end - start);
    for (let p = start; p < end; p++) w[p - start] = Math.min(hi, p + 1) - Math.max(lo, p);
    const sum = w.reduce((x, y) => x + y, 0);
    for (let k = 0; k < w.length; k++) w[k]! /= sum;
    out.push({ start, w });
  }
  return out;
}

/** The 32×32 grey pixels of `box` cut from a WORK×WORK grey image. */
function cut(grey: Uint8Array, box: HashBox): Float64Array {
  const cols = boxWeights(box[0], box[2], N);
  const rows = boxWeights(box[1], box[3], N);
  const tmp = new Float64Array(WORK * N);
  for (let y = 0; y < WORK; y++) {
    for (let i = 0; i < N; i++) {
      const { start, w } = cols[i]!;
      let s = 0;
      for (let k = 0; k < w.length; k++) s += grey[y * WORK + start + k]! * w[k]!;
      tmp[y * N + i] = s;
    }
  }
  const px = new Float64Array(N * N);
  for (let j = 0; j < N; j++) {
    const { start, w } = rows[j]!;
    for (let i = 0; i < N; i++) {
      let s = 0;
      for (let k = 0; k < w.length; k++) s += tmp[(start + k) * N + i]! * w[k]!;
      px[j * N + i] = s;
    }
  }
  return px;
}

/**
 * Perceptual hashes of encoded image bytes (any format sharp decodes; alpha flattened on white), one per
 * box: the image is decoded once into a 128×128 grey image, each box is area-averaged from it to 32×32.
 */
export async function perceptualHashes(bytes: Uint8Array, boxes: readonly HashBox[], maxPixels = 89_478_485): Promise<PHash[]> {
  let px: Buffer;
  try {
    px = await sharp(bytes, { limitInputPixels: maxPixels, failOn: 'error' })
      .flatten({ background: { r: 255, g: 255, b: 255 } })
      .greyscale()
      .resize(WORK, WORK, { fit: 'fill', kernel: 'lanczos3' })
      .raw()
      .toBuffer();
  } catch (e) {
    const msg = (e as Error).message.split('\n')[0] ?? '';
    throw new ImageDecodeError(/pixel limit/i.test(msg) ? 'too-large' : 'corrupt', `cannot hash image: ${msg}`);
  }
  const grey = new Uint8Array(px.buffer, px.byteOffset, WORK * WORK);
  return boxes.map((b) => phashOfGrey(cut(grey, b)));
}

/** The perceptual hash of the whole image. */
export async function perceptualHash(bytes: Uint8Array, maxPixels?: number): Promise<PHash> {
  return (await perceptualHashes(bytes, [FULL_IMAGE], maxPixels))[0]!;
}

/** Bits set in a 32-bit integer. */
export function popcount32(x: number): number {
  x -= (x >>> 1) & 0x55555555;
  x = (x & 0x33333333) + ((x >>> 2) & 0x33333333);
  x = (x + (x >>> 4)) & 0x0f0f0f0f;
  return Math.imul(x, 0x01010101) >>> 24;
}

/** Hamming distance between two hashes (0–64). */
export function hammingDistance(a: PHash, b: PHash): number {
  return popcount32((a.hi ^ b.hi) >>> 0) + popcount32((a.lo ^ b.lo) >>> 0);
}

/** 16 hex digits, high half first. */
export function phashToHex(h: PHash): string {
  return h.hi.toString(16).padStart(8, '0') + h.lo.toString(16).padStart(8, '0');
}

export function phashFromHex(hex: string): PHash {
  if (!/^[0-9a-f]{16}$/i.test(hex)) throw new Error(`not a 64-bit hex hash: ${hex}`);
  return { hi: parseInt(hex.slice(0, 8), 16) >>> 0, lo: parseInt(hex.slice(8), 16) >>> 0 };
}
