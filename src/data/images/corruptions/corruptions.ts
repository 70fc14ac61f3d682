// The ImageNet-C corruptions (Hendrycks & Dietterich 2019) with the reference implementation's parameters per
// severity, on 8-bit RGB of any size (the benchmark applies them to 224×224 centre crops; spatial parameters
// are in pixels, as there). Output is 8-bit like the reference's np.uint8 (truncation after clipping to
// [0, 255]). Hand-written: the definitions are scipy / OpenCV / scikit-image / ImageMagick arithmetic.
import sharp from 'sharp';
import type { Rng } from '../../../util/rng.js';
import { clippedZoom, filter2d, gaussianFilter, hsvToRgb, pillowResize, plane, rgbToHsv, sampleLinear, type Plane } from './filters.js';
import { frostTexture, motionBlur, plasmaFractal } from './textures.js';

export interface CorruptOptions {
  /** Frost textures (RGB, any size ≥ the image) to crop from, as the reference does; default a procedural one. */
  frost?: { rgb: Uint8Array; w: number; h: number }[];
}

type Fn = (x: Plane, s: number, rng: Rng, o: CorruptOptions) => Plane | Promise<Plane>;

const toPlane = (rgb: Uint8Array, w: number, h: number): Plane => plane(w, h, 3, Float64Array.from(rgb, (v) => v / 255));
const map = (p: Plane, f: (v: number, i: number) => number): Plane => plane(p.w, p.h, p.c, p.data.map(f));
const clip01 = (v: number) => (v < 0 ? 0 : v > 1 ? 1 : v);

/** Poisson(λ) by sequential search of the CDF (λ ≤ 60 here). */
function poisson(lambda: number, rng: Rng): number {
  if (lambda <= 0) return 0;
  let k = 0;
  let p = Math.exp(-lambda);
  let cdf = p;
  const u = rng.random();
  while (u > cdf && k < 1000) {
    k++;
    p *= lambda / k;
    cdf += p;
  }
  return k;
}

/** The reference's disk kernel for defocus blur: a disc of `radius`, normalized, smoothed by OpenCV's GaussianBlur. */
export function diskKernel(radius: number, aliasBlur: number): { k: Float64Array; size: number } {
  const r = radius <= 8 ? 8 : radius;
  const size = 2 * r + 1;
  const disc = new Float64Array(size * size);
  let s = 0;
  for (let y = -r; y <= r; y++) for (let x = -r; x <= r; x++) if (x * x + y * y <= radius * radius) s += disc[(y + r) * size + x + r] = 1;
  for (let i = 0; i < disc.length; i++) disc[i]! /= s;
  // cv2.getGaussianKernel(ksize, sigma): exp(−(i − (k−1)/2)² / 2σ²), normalized; separable, BORDER_REFLECT_101.
  const ks = radius <= 8 ? 3 : 5;
  const g = Float64Array.from({ length: ks }, (_, i) => Math.exp(-((i - (ks - 1) / 2) ** 2) / (2 * aliasBlur * aliasBlur)));
  const gs = g.reduce((a, b) => a + b, 0);
  const g2 = new Float64Array(ks * ks);
  for (let y = 0; y < ks; y++) for (let x = 0; x < ks; x++) g2[y * ks + x] = (g[y]! / gs) * (g[x]! / gs);
  return { k: filter2d(plane(size, size, 1, disc), g2, ks).data, size };
}

const NOISE: Record<string, Fn> = {
  gaussian_noise: (x, s, rng) => {
    const c = [0.08, 0.12, 0.18, 0.26, 0.38][s - 1]!;
    return map(x, (v) => clip01(v + c * rng.normal()));
  },
  shot_noise: (x, s, rng) => {
    const c = [60, 25, 12, 5, 3][s - 1]!;
    return map(x, (v) => clip01(poisson(v * c, rng) / c));
  },
  impulse_noise: (x, s, rng) => {
    // skimage random_noise 's&p': each value flipped with probability `amount`, to 1 or 0 with equal odds.
    const c = [0.03, 0.06, 0.09, 0.17, 0.27][s - 1]!;
    return map(x, (v) => {
      const flip = rng.random() <= c;
      const salt = rng.random() <= 0.5;
      return flip ? (salt ? 1 : 0) : v;
    });
  },
  speckle_noise: (x, s, rng) => {
    const c = [0.15, 0.2, 0.35, 0.45, 0.6][s - 1]!;
    return map(x, (v) => clip01(v + v * c * rng.normal()));
  },
};

/**
 * What ImageMagick (Q16) writes to an 8-bit PNG for a [0, 1] value: the 16-bit quantum rounded
 * (ClampToQuantum), then ⌊q/257⌋ — so ⌊255·v⌋, except just below a level, where the rounding lifts it
 * (checked against convert, value for value).
 */
const imagemagick8 = (v: number) => Math.floor(Math.floor(65535 * clip01(v) + 0.5) / 257) / 255;

/** np.uint8(v·255) of a [0, 1] value. */
const trunc8 = (v: number) => Math.trunc(255 * clip01(v));

function glassShuffle(x: Plane, maxDelta: number, iterations: number, rng: Rng): void {
  const { w, h, data } = x;
  for (let it = 0; it < iterations; it++)
    for (let yy = h - maxDelta; yy > maxDelta; yy--)
      for (let xx = w - maxDelta; xx > maxDelta; xx--) {
        // np.random.randint(-d, d, size=2): dx then dy, each in [−d, d).
        const dx = rng.int(2 * maxDelta) - maxDelta;
        const dy = rng.int(2 * maxDelta) - maxDelta;
        // The reference's "swap" x[h, w], x[h', w'] = x[h', w'], x[h, w] assigns NumPy views: x[h, w] takes
        // x[h', w'], then x[h', w'] takes that same value back. So the pixel copies its neighbour, which
        // keeps its own; the released ImageNet-C was made so.
        const a = (yy * w + xx) * 3;
        const b = ((yy + dy) * w + xx + dx) * 3;
        for (let ch = 0; ch < 3; ch++) data[a + ch] = data[b + ch]!;
      }
}

const BLUR: Record<string, Fn> = {
  gaussian_blur: (x, s) => map(gaussianFilter(x, [1, 2, 3, 4, 6][s - 1]!), clip01),
  glass_blur: (x, s, rng) => {
    const [sigma, delta, iters] = ([[0.7, 1, 2], [0.9, 2, 1], [1, 2, 3], [1.1, 3, 2], [1.5, 4, 2]] as const)[s - 1]!;
    const q = map(gaussianFilter(x, sigma), (v) => trunc8(v) / 255);
    glassShuffle(q, delta, iters, rng);
    return map(gaussianFilter(q, sigma), clip01);
  },
  defocus_blur: (x, s) => {
    const [r, alias] = ([[3, 0.1], [4, 0.5], [6, 0.5], [8, 0.5], [10, 0.5]] as const)[s - 1]!;
    const { k, size } = diskKernel(r, alias);
    return map(filter2d(x, k, size), clip01);
  },
  motion_blur: (x, s, rng) => {
    const [r, sigma] = ([[10, 3], [15, 5], [15, 8], [15, 12], [20, 15]] as const)[s - 1]!;
    // The reference hands an 8-bit PNG to ImageMagick, which writes 8 bits back truncated (checked against it).
    return map(motionBlur(x, r, sigma, rng.uniform(-45, 45)), imagemagick8);
  },
  zoom_blur: (x, s) => {
    const [lo, hi, step] = ([[1, 1.11, 0.01], [1, 1.16, 0.01], [1, 1.21, 0.02], [1, 1.26, 0.02], [1, 1.31, 0.03]] as const)[s - 1]!;
    // np.arange(lo, hi, step): ⌈(hi − lo)/step⌉ factors lo + i·step.
    const n = Math.ceil((hi - lo) / step);
    const acc = new Float64Array(x.data.length);
    for (let i = 0; i < n; i++) {
      const z = clippedZoom(x, lo + i * step);
      for (let j = 0; j < acc.length; j++) acc[j]! += z.data[j]!;
    }
    return map(x, (v, j) => clip01((v + acc[j]!) / (n + 1)));
  },
};

function gray(x: Plane, i: number): number {
  return 0.299 * x.data[i * 3]! + 0.587 * x.data[i * 3 + 1]! + 0.114 * x.data[i * 3 + 2]!;
}

const WEATHER: Record<string, Fn> = {
  snow: (x, s, rng) => {
    const [loc, scale, zoom, thresh, radius, sigma, mix] = (
      [[0.1, 0.3, 3, 0.5, 10, 4, 0.8], [0.2, 0.3, 2, 0.5, 12, 4, 0.7], [0.55, 0.3, 4, 0.9, 12, 8, 0.7], [0.55, 0.3, 4.5, 0.85, 12, 8, 0.65], [0.55, 0.3, 2.5, 0.85, 12, 12, 0.55]] as const
    )[s - 1]!;
    const layer = plane(x.w, x.h, 1, Float64Array.from({ length: x.w * x.h }, () => loc + scale * rng.normal()));
    const zoomed = map(clippedZoom(layer, zoom), (v) => (v < thresh ? 0 : trunc8(v) / 255));
    const flakes = motionBlur(zoomed, radius, sigma, rng.uniform(-135, -45));
    const n = x.w * x.h;
    return map(x, (v, j) => {
      const i = Math.floor(j / 3);
      const f = imagemagick8(flakes.data[i]!) + imagemagick8(flakes.data[n - 1 - i]!);
      const lifted = mix * v + (1 - mix) * Math.max(v, gray(x, i) * 1.5 + 0.5);
      return clip01(lifted + f);
    });
  },
  frost: (x, s, rng, o) => {
    const [a, b] = ([[1, 0.4], [0.8, 0.6], [0.7, 0.7], [0.65, 0.7], [0.6, 0.75]] as const)[s - 1]!;
    let tex: Float64Array;
    if (o.frost?.length) {
      // The reference picks one of the first five textures and crops a random window.
      const t = o.frost[rng.int(Math.min(5, o.frost.length))]!;
      if (t.w < x.w || t.h < x.h) throw new RangeError(`frost texture ${t.w}×${t.h} is smaller than the ${x.w}×${x.h} image`);
      const top = rng.int(Math.max(1, t.h - x.h));
      const left = rng.int(Math.max(1, t.w - x.w));
      tex = new Float64Array(x.w * x.h * 3);
      for (let y = 0; y < x.h; y++) for (let i = 0; i < x.w * 3; i++) tex[y * x.w * 3 + i] = t.rgb[((top + y) * t.w + left) * 3 + i]!;
    } else tex = frostTexture(x.w, x.h, rng);
    return map(x, (v, j) => clip01((a * 255 * v + b * tex[j]!) / 255));
  },
  fog: (x, s, rng) => {
    const [c, decay] = ([[1.5, 2], [2, 2], [2.5, 1.7], [2.5, 1.5], [3, 1.4]] as const)[s - 1]!;
    let size = 256;
    while (size < Math.max(x.w, x.h)) size <<= 1;
    const f = plasmaFractal(size, decay, rng);
    let max = 0;
    for (const v of x.data) max = Math.max(max, v);
    return map(x, (v, j) => {
      const i = Math.floor(j / 3);
      const fog = v + c * f[Math.floor(i / x.w) * size + (i % x.w)]!;
      return clip01((fog * max) / (max + c));
    });
  },
};

function hsvMap(x: Plane, f: (hsv: [number, number, number]) => [number, number, number]): Plane {
  const out = plane(x.w, x.h, 3);
  for (let i = 0; i < x.w * x.h; i++) {
    const rgb = hsvToRgb(...f(rgbToHsv(x.data[i * 3]!, x.data[i * 3 + 1]!, x.data[i * 3 + 2]!)));
    for (let ch = 0; ch < 3; ch++) out.data[i * 3 + ch] = clip01(rgb[ch]!);
  }
  return out;
}

const fromBytes = (rgb: Uint8Array, w: number, h: number): Plane => toPlane(rgb, w, h);
const toBytes = (x: Plane): Uint8Array => Uint8Array.from(x.data, (v) => Math.round(v * 255));

const DIGITAL: Record<string, Fn> = {
  brightness: (x, s) => {
    const c = [0.1, 0.2, 0.3, 0.4, 0.5][s - 1]!;
    return hsvMap(x, ([hh, ss, v]) => [hh, ss, clip01(v + c)]);
  },
  saturate: (x, s) => {
    const [m, a] = ([[0.3, 0], [0.1, 0], [2, 0], [5, 0.1], [20, 0.2]] as const)[s - 1]!;
    return hsvMap(x, ([hh, ss, v]) => [hh, clip01(ss * m + a), v]);
  },
  contrast: (x, s) => {
    const c = [0.4, 0.3, 0.2, 0.1, 0.05][s - 1]!;
    const mean = [0, 0, 0];
    for (let i = 0; i < x.data.length; i++) mean[i % 3]! += x.data[i]!;
    for (let ch = 0; ch < 3; ch++) mean[ch]! /= x.w * x.h;
    return map(x, (v, j) => clip01((v - mean[j % 3]!) * c + mean[j % 3]!));
  },
  elastic_transform: (x, s, rng) => {
    const [alpha, sigma, affine] = ([[488, 170.8, 24.4], [488, 19.52, 48.8], [12.2, 2.44, 4.88], [17.08, 2.44, 4.88], [29.28, 2.44, 4.88]] as const)[s - 1]!;
    const { w, h } = x;
    // Random affine: three points around the centre moved by uniform(−affine, affine), bilinear, REFLECT_101.
    const cx = Math.floor(w / 2);
    const cy = Math.floor(h / 2);
    const sq = Math.floor(Math.min(w, h) / 3);
    const src: [number, number][] = [[cx + sq, cy + sq], [cx + sq, cy - sq], [cx - sq, cy - sq]];
    const dst = src.map(([px, py]) => [px + rng.uniform(-affine, affine), py + rng.uniform(-affine, affine)] as [number, number]);
    const inv = affineFromPoints(dst, src); // dst → src, what warpAffine samples with
    const warped = plane(w, h, 3);
    for (let yy = 0; yy < h; yy++)
      for (let xx = 0; xx < w; xx++) {
        const sx = inv[0] * xx + inv[1] * yy + inv[2];
        const sy = inv[3] * xx + inv[4] * yy + inv[5];
        for (let ch = 0; ch < 3; ch++) warped.data[(yy * w + xx) * 3 + ch] = sampleLinear(x, sy, sx, ch, 'mirror');
      }
    const field = () => gaussianFilter(plane(w, h, 1, Float64Array.from({ length: w * h }, () => rng.uniform(-1, 1))), sigma, 'reflect', 3);
    const dx = field();
    const dy = field();
    const out = plane(w, h, 3);
    for (let yy = 0; yy < h; yy++)
      for (let xx = 0; xx < w; xx++) {
        const i = yy * w + xx;
        for (let ch = 0; ch < 3; ch++) out.data[i * 3 + ch] = clip01(sampleLinear(warped, yy + alpha * dy.data[i]!, xx + alpha * dx.data[i]!, ch, 'reflect'));
      }
    return out;
  },
  pixelate: (x, s) => {
    const c = [0.6, 0.5, 0.4, 0.3, 0.25][s - 1]!;
    const bytes = toBytes(x);
    const sw = Math.trunc(x.w * c);
    const sh = Math.trunc(x.h * c);
    return fromBytes(pillowResize(pillowResize(bytes, x.w, x.h, sw, sh, 'box'), sw, sh, x.w, x.h, 'box'), x.w, x.h);
  },
  jpeg_compression: async (x, s) => {
    const q = [25, 18, 15, 10, 7][s - 1]!;
    const jpg = await sharp(toBytes(x), { raw: { width: x.w, height: x.h, channels: 3 } }).jpeg({ quality: q, chromaSubsampling: '4:2:0' }).toBuffer();
    const { data } = await sharp(jpg).removeAlpha().raw().toBuffer({ resolveWithObject: true });
    return fromBytes(new Uint8Array(data.buffer, data.byteOffset, data.length), x.w, x.h);
  },
};

/** The affine map [a b c; d e f] taking three points `from` onto `to` (cv2.getAffineTransform). */
function affineFromPoints(from: [number, number][], to: [number, number][]): [number, number, number, number, number, number] {
  const [[x0, y0], [x1, y1], [x2, y2]] = from as [[number, number], [number, number], [number, number]];
  const det = x0 * (y1 - y2) - y0 * (x1 - x2) + (x1 * y2 - x2 * y1);
  const solve = (v0: number, v1: number, v2: number): [number, number, number] => [
    (v0 * (y1 - y2) - y0 * (v1 - v2) + (v1 * y2 - v2 * y1)) / det,
    (x0 * (v1 - v2) - v0 * (x1 - x2) + (x1 * v2 - x2 * v1)) / det,
    (x0 * (y1 * v2 - y2 * v1) - y0 * (x1 * v2 - x2 * v1) + v0 * (x1 * y2 - x2 * y1)) / det,
  ];
  return [...solve(to[0]![0], to[1]![0], to[2]![0]), ...solve(to[0]![1], to[1]![1], to[2]![1])];
}

const ALL: Record<string, Fn> = { ...NOISE, ...BLUR, ...WEATHER, ...DIGITAL };

/** The corruptions cliplab generates: the 15 of the benchmark and three of the four extras (not spatter). */
export const CORRUPTION_NAMES = [
  'gaussian_noise', 'shot_noise', 'impulse_noise', 'defocus_blur', 'glass_blur', 'motion_blur', 'zoom_blur',
  'snow', 'frost', 'fog', 'brightness', 'contrast', 'elastic_transform', 'pixelate', 'jpeg_compression',
  'speckle_noise', 'gaussian_blur', 'saturate',
] as const;
export type CorruptionName = (typeof CORRUPTION_NAMES)[number];

/** Corrupts 8-bit RGB (`w`×`h`, HWC) with `name` at `severity` 1…5; returns new 8-bit RGB of the same size. */
export async function corruptImage(rgb: Uint8Array, w: number, h: number, name: string, severity: number, rng: Rng, opts: CorruptOptions = {}): Promise<Uint8Array> {
  const fn = ALL[name];
  if (!fn) throw new RangeError(`unknown corruption '${name}' (have ${CORRUPTION_NAMES.join(', ')})`);
  if (!Number.isInteger(severity) || severity < 1 || severity > 5) throw new RangeError(`severity ${severity} is not 1 … 5`);
  if (rgb.length !== w * h * 3) throw new RangeError(`corruptImage: ${rgb.length} bytes for ${w}×${h} RGB`);
  const out = await fn(toPlane(rgb, w, h), severity, rng, opts);
  return Uint8Array.from(out.data, trunc8);
}
