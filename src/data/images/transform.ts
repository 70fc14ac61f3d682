// Image preprocessing on sharp, as OpenCLIP does it: decode to RGB (alpha dropped as Pillow's convert('RGB'), or
// flattened on a colour: alpha.ts), eval resize + center crop or train RandomResizedCrop (seeded), bicubic, then
// CLIP mean/std normalization into CHW floats.
import sharp, { type Sharp, type SharpOptions } from 'sharp';
import { CliplabError } from '../../util/errors.js';
import type { Rng } from '../../util/rng.js';
import { type AlphaMode, toRgb } from './alpha.js';
import { sniffDimensions } from './header.js';
import { decodePngFast } from './png.js';
import { createHash } from 'node:crypto';
import { cropResizeRgb } from './resample.js';

export const CLIP_MEAN: readonly [number, number, number] = [0.48145466, 0.4578275, 0.40821073];
export const CLIP_STD: readonly [number, number, number] = [0.26862954, 0.26130258, 0.27577711];
/** Pixel limit against decompression bombs (PIL's default MAX_IMAGE_PIXELS). */
export const DEFAULT_MAX_PIXELS = 89_478_485;

/** An image that cannot be used: corrupt or truncated bytes, or over the pixel limit. Callers count and skip it. */
export class ImageDecodeError extends CliplabError {
  override name = 'ImageDecodeError';
  constructor(
    readonly reason: 'corrupt' | 'too-large',
    message: string,
  ) {
    super(message);
  }
}

export interface TransformOptions {
  /** Output side S (the model's image size). */
  size: number;
  /** 'eval': resize shortest side + center crop; 'train': RandomResizedCrop (needs an Rng). */
  mode: 'eval' | 'train';
  /** RandomResizedCrop area fraction range; default [0.9, 1.0] (OpenCLIP). */
  scale?: readonly [number, number];
  /** RandomResizedCrop aspect ratio range; default [3/4, 4/3]. */
  ratio?: readonly [number, number];
  /** Decoded pixel limit; default DEFAULT_MAX_PIXELS. */
  maxPixels?: number;
  mean?: readonly [number, number, number];
  std?: readonly [number, number, number];
  /** Transparency: 'drop' (default, OpenCLIP's convert('RGB')), or flatten on 'white' / 'black'. */
  alpha?: AlphaMode;
}

export interface CropBox {
  left: number;
  top: number;
  width: number;
  height: number;
}

/** torchvision's RandomResizedCrop.get_params: 10 tries, then a center crop with the ratio clamped. */
export function randomResizedCropBox(
  width: number,
  height: number,
  rng: Rng,
  scale: readonly [number, number] = [0.9, 1.0],
  ratio: readonly [number, number] = [3 / 4, 4 / 3],
): CropBox {
  const area = width * height;
  const logRatio = [Math.log(ratio[0]), Math.log(ratio[1])] as const;
  for (let attempt = 0; attempt < 10; attempt++) {
    const targetArea = area * rng.uniform(scale[0], scale[1]);
    const aspect = Math.exp(rng.uniform(logRatio[0], logRatio[1]));
    const w = Math.round(Math.sqrt(targetArea * aspect));
    const h = Math.round(Math.sqrt(targetArea / aspect));
    if (w > 0 && w <= width && h > 0 && h <= height) {
      const top = rng.int(height - h + 1);
      const left = rng.int(width - w + 1);
      return { left, top, width: w, height: h };
    }
  }
  const inRatio = width / height;
  let w: number;
  let h: number;
  if (inRatio < ratio[0]) {
    w = width;
    h = Math.round(w / ratio[0]);
  } else if (inRatio > ratio[1]) {
    h = height;
    w = Math.round(h * ratio[1]);
  } else {
    w = width;
    h = height;
  }
  return { left: Math.floor((width - w) / 2), top: Math.floor((height - h) / 2), width: w, height: h };
}

function classify(e: unknown): ImageDecodeError {
  const msg = e instanceof Error ? e.message : String(e);
  if (/pixel limit|exceeds pixel/i.test(msg)) return new ImageDecodeError('too-large', `image over the pixel limit: ${msg}`);
  return new ImageDecodeError('corrupt', `cannot decode image: ${msg}`);
}

/** Images up to this many times S² pixels are decoded whole by sharp and cropped/resized in JS (faster for thumbnails). */
const JS_RESAMPLE_MAX_AREA = 16;

/** The eval crop in source pixels: the centered square (shortest side), as Resize(S) + CenterCrop(S) sees it. */
function centerBox(w: number, h: number): CropBox {
  const side = Math.min(w, h);
  return { left: Math.floor((w - side) / 2), top: Math.floor((h - side) / 2), width: side, height: side };
}

/** The whole image as 8-bit sRGB, alpha kept, then made RGB by the same function as the PNG fast path. */
async function decodeSmall(bytes: Uint8Array, input: SharpOptions, alpha: AlphaMode): Promise<{ data: Uint8Array; width: number; height: number }> {
  const { data, info } = await sharp(bytes, input).toColourspace('srgb').raw().toBuffer({ resolveWithObject: true });
  return { data: toRgb(data, info.channels, info.width * info.height, alpha), width: info.width, height: info.height };
}

/**
 * Decoded small images, by content hash: training revisits every image each epoch. The pixels are copied into a
 * few large slabs rather than held one allocation per image (each would count as external memory, and V8
 * collects garbage as that grows). Once the slabs are full, new images are not cached: for a dataset cycled
 * through in shuffled order, keeping a fixed subset gets hits where evicting the oldest gets none.
 */
const decoded = new Map<string, { data: Uint8Array; width: number; height: number }>();
const SLAB_BYTES = 32 * 1024 * 1024;
const MAX_SLABS = 8;
const slabs: Uint8Array[] = [];
let slabUsed = 0;

function slabCopy(data: Uint8Array): Uint8Array | null {
  const n = data.byteLength;
  if (n > SLAB_BYTES) return null;
  if (slabs.length === 0 || slabUsed + n > SLAB_BYTES) {
    if (slabs.length >= MAX_SLABS) return null;
    slabs.push(new Uint8Array(SLAB_BYTES));
    slabUsed = 0;
  }
  const view = slabs[slabs.length - 1]!.subarray(slabUsed, slabUsed + n);
  view.set(data);
  slabUsed += n;
  return view;
}

async function decodeSmallCached(bytes: Uint8Array, input: SharpOptions, alpha: AlphaMode): Promise<{ data: Uint8Array; width: number; height: number }> {
  const key = `${alpha}:${createHash('sha1').update(bytes).digest('base64')}`;
  const hit = decoded.get(key);
  if (hit) return hit;
  const info = decodePngFast(bytes, alpha) ?? (await decodeSmall(bytes, input, alpha));
  const kept = slabCopy(info.data);
  if (kept) decoded.set(key, { data: kept, width: info.width, height: info.height });
  return info;
}

/**
 * Decodes, crops and resizes to S×S RGB bytes (HWC), written into `out` at `offset` (a new array when omitted);
 * returns `out`. Small images are decoded (common PNGs in JS, the rest by sharp), cached, and resampled in JS
 * with Pillow's bicubic arithmetic; large ones go through sharp's own extract + resize (shrink-on-load).
 * Throws ImageDecodeError.
 */
export async function transformToRgb(bytes: Uint8Array, opts: TransformOptions, rng?: Rng, out?: Uint8Array, offset = 0): Promise<Uint8Array> {
  const S = opts.size;
  const target = out ?? new Uint8Array(S * S * 3);
  const input = { limitInputPixels: opts.maxPixels ?? DEFAULT_MAX_PIXELS, failOn: 'error' as const };
  const alpha = opts.alpha ?? 'drop';
  try {
    if (opts.mode === 'train' && !rng) throw new Error('train transform needs an Rng');
    // No EXIF auto-rotation, as OpenCLIP's PIL pipeline.
    const dims = sniffDimensions(bytes) ?? (await sharp(bytes, input).metadata());
    const w = dims.width;
    const h = dims.height;
    if (!w || !h) throw new Error('no image dimensions');
    if (w * h > input.limitInputPixels) throw new Error('Input image exceeds pixel limit');
    if (w * h <= JS_RESAMPLE_MAX_AREA * S * S) {
      const info = await decodeSmallCached(bytes, input, alpha);
      const box = opts.mode === 'train' ? randomResizedCropBox(info.width, info.height, rng!, opts.scale, opts.ratio) : centerBox(info.width, info.height);
      if (box.left === 0 && box.top === 0 && box.width === S && box.height === S && info.width === S) {
        target.set(info.data, offset); // a copy: the decoded pixels stay cached
        return target;
      }
      return cropResizeRgb(info.data, info.width, box, S, S, target, offset);
    }
    let img = await largeInput(bytes, input, alpha);
    if (opts.mode === 'train') {
      const box = randomResizedCropBox(w, h, rng!, opts.scale, opts.ratio);
      img = img.extract(box).resize(S, S, { fit: 'fill', kernel: 'cubic' });
    } else {
      img = img.resize(S, S, { fit: 'cover', position: 'centre', kernel: 'cubic' });
    }
    const { data, info } = await img.toColourspace('srgb').raw().toBuffer({ resolveWithObject: true });
    if (info.width !== S || info.height !== S) throw new Error(`unexpected output size ${info.width}x${info.height}`);
    target.set(toRgb(data, info.channels, S * S, alpha), offset);
    return target;
  } catch (e) {
    throw e instanceof ImageDecodeError ? e : classify(e);
  }
}

/**
 * sharp's input for a large image. With transparency, the image is made RGB first (alpha.ts) and resized after:
 * sharp's resize premultiplies by alpha, which would darken the colours Pillow's convert('RGB') keeps (OpenCLIP
 * converts at load time, before any resize). Costs a full decode, for transparent images only.
 */
async function largeInput(bytes: Uint8Array, input: SharpOptions, alpha: AlphaMode): Promise<Sharp> {
  const jpeg = bytes[0] === 0xff && bytes[1] === 0xd8; // no alpha: spare the header read (ImageNet is all JPEG)
  if (jpeg || !(await sharp(bytes, input).metadata()).hasAlpha) return sharp(bytes, input);
  const { data, info } = await sharp(bytes, input).toColourspace('srgb').raw().toBuffer({ resolveWithObject: true });
  const rgb = toRgb(data, info.channels, info.width * info.height, alpha);
  return sharp(rgb, { raw: { width: info.width, height: info.height, channels: 3 }, limitInputPixels: input.limitInputPixels });
}

const lutCache = new Map<string, Float32Array[]>();
let lastLut: { mean: readonly number[]; std: readonly number[]; l: Float32Array[] } | null = null;

function luts(mean: readonly number[], std: readonly number[]): Float32Array[] {
  if (lastLut && lastLut.mean === mean && lastLut.std === std) return lastLut.l;
  const id = `${mean.join(',')}/${std.join(',')}`;
  let l = lutCache.get(id);
  if (!l) {
    l = [0, 1, 2].map((c) => Float32Array.from({ length: 256 }, (_, v) => (v / 255 - mean[c]!) / std[c]!));
    lutCache.set(id, l);
  }
  lastLut = { mean, std, l };
  return l;
}

/** Writes normalized CHW floats of the S×S RGB (HWC) image at `rgb[from …]` into `out` at `offset`. */
export function normalizeInto(
  rgb: Uint8Array,
  size: number,
  out: Float32Array,
  offset = 0,
  mean: readonly [number, number, number] = CLIP_MEAN,
  std: readonly [number, number, number] = CLIP_STD,
  from = 0,
): void {
  const [l0, l1, l2] = luts(mean, std) as [Float32Array, Float32Array, Float32Array];
  const plane = size * size;
  for (let i = 0, p = from; i < plane; i++, p += 3) {
    out[offset + i] = l0[rgb[p]!]!;
    out[offset + plane + i] = l1[rgb[p + 1]!]!;
    out[offset + 2 * plane + i] = l2[rgb[p + 2]!]!;
  }
}

/** Full preprocessing of one image into `out` (length ≥ offset + 3·S·S; a new array when omitted). */
export async function preprocessImage(bytes: Uint8Array, opts: TransformOptions, rng?: Rng, out?: Float32Array, offset = 0): Promise<Float32Array> {
  const S = opts.size;
  const target = out ?? new Float32Array(3 * S * S);
  normalizeInto(await transformToRgb(bytes, opts, rng), S, target, offset, opts.mean ?? CLIP_MEAN, opts.std ?? CLIP_STD);
  return target;
}
