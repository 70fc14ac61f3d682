// Random fields the weather corruptions use: the diamond-square plasma fractal (fog), ImageMagick's motion
// blur kernel (motion blur, snow), and a procedural stand-in for the reference's frost photographs.
import type { Rng } from '../../../util/rng.js';
import { boundary, gaussianFilter, plane, type Plane } from './filters.js';

/**
 * The reference's plasma_fractal: diamond-square on a `size`×`size` torus (size a power of two), wibble 100
 * divided by `decay` each level, values uniform(−wibble, wibble) added to each mean; scaled to [0, 1].
 */
export function plasmaFractal(size: number, decay: number, rng: Rng): Float64Array {
  if ((size & (size - 1)) !== 0) throw new RangeError(`plasmaFractal: size ${size} is not a power of two`);
  const m = new Float64Array(size * size);
  const at = (y: number, x: number) => (((y % size) + size) % size) * size + (((x % size) + size) % size);
  let step = size;
  let wibble = 100;
  const wib = (v: number) => v / 4 + wibble * rng.uniform(-wibble, wibble);
  while (step >= 2) {
    const half = step >> 1;
    // Squares: centre = mean of the four corners (numpy's roll wraps around).
    for (let y = 0; y < size; y += step)
      for (let x = 0; x < size; x += step) m[at(y + half, x + half)] = wib(m[at(y, x)]! + m[at(y + step, x)]! + m[at(y, x + step)]! + m[at(y + step, x + step)]!);
    // Diamonds: the top edge midpoints, then the left edge midpoints, each from its four neighbours.
    for (let y = 0; y < size; y += step)
      for (let x = 0; x < size; x += step)
        m[at(y, x + half)] = wib(m[at(y + half, x + half)]! + m[at(y - half, x + half)]! + m[at(y, x)]! + m[at(y, x + step)]!);
    for (let y = 0; y < size; y += step)
      for (let x = 0; x < size; x += step)
        m[at(y + half, x)] = wib(m[at(y + half, x + half)]! + m[at(y + half, x - half)]! + m[at(y, x)]! + m[at(y + step, x)]!);
    step = half;
    wibble /= decay;
  }
  let lo = Infinity;
  let hi = -Infinity;
  for (const v of m) {
    lo = Math.min(lo, v);
    hi = Math.max(hi, v);
  }
  for (let i = 0; i < m.length; i++) m[i] = (m[i]! - lo) / (hi - lo);
  return m;
}

/**
 * ImageMagick's MotionBlurImage: width = 2⌈radius⌉ + 1 taps of a one-sided Gaussian exp(−i²/2σ²)
 * (normalized), tap i at offset (⌈i·cos a − ½⌉, ⌈i·sin a − ½⌉), edge pixels repeated beyond the border.
 */
export function motionBlur(p: Plane, radius: number, sigma: number, angleDeg: number): Plane {
  const width = 2 * Math.ceil(radius) + 1;
  const k = new Float64Array(width);
  let s = 0;
  for (let i = 0; i < width; i++) s += k[i] = Math.exp(-(i * i) / (2 * sigma * sigma));
  for (let i = 0; i < width; i++) k[i]! /= s;
  const a = (angleDeg * Math.PI) / 180;
  const px = width * Math.sin(a);
  const py = width * Math.cos(a);
  const len = Math.hypot(px, py);
  const ox = Int32Array.from({ length: width }, (_, i) => Math.ceil((i * py) / len - 0.5));
  const oy = Int32Array.from({ length: width }, (_, i) => Math.ceil((i * px) / len - 0.5));
  const { w, h, c } = p;
  const out = plane(w, h, c);
  for (let y = 0; y < h; y++)
    for (let x = 0; x < w; x++)
      for (let ch = 0; ch < c; ch++) {
        let v = 0;
        for (let i = 0; i < width; i++) v += k[i]! * p.data[(boundary(y + oy[i]!, h, 'nearest') * w + boundary(x + ox[i]!, w, 'nearest')) * c + ch]!;
        out.data[(y * w + x) * c + ch] = v;
      }
  return out;
}

/**
 * A frost-like RGB texture in [0, 255] (the reference blends crops of six photographs of frost, which cliplab
 * does not ship): bright, bluish crystal streaks — sparse random seeds (2 % of texels), blurred and
 * motion-blurred at two random angles — over a dim plasma-fractal haze (at most 0.35 of full brightness),
 * tinted blue 1 : green 0.92 : red 0.85. Deterministic by `rng`; its statistics only roughly resemble the
 * photographs'.
 */
export function frostTexture(w: number, h: number, rng: Rng): Float64Array {
  let size = 1;
  while (size < Math.max(w, h)) size <<= 1;
  const haze = plasmaFractal(size, 1.6, rng);
  const seeds = plane(w, h, 1);
  for (let i = 0; i < seeds.data.length; i++) seeds.data[i] = rng.random() < 0.02 ? rng.uniform(0.6, 1) : 0;
  const streaks = [rng.uniform(0, 180), rng.uniform(0, 180)].map((a) => motionBlur(gaussianFilter(seeds, 0.6), 12, 6, a));
  const out = new Float64Array(w * h * 3);
  for (let y = 0; y < h; y++)
    for (let x = 0; x < w; x++) {
      const ice = Math.min(1, 6 * (streaks[0]!.data[y * w + x]! + streaks[1]!.data[y * w + x]!));
      const v = 0.35 * haze[y * size + x]! + 0.65 * ice;
      out[(y * w + x) * 3] = 255 * Math.min(1, 0.85 * v);
      out[(y * w + x) * 3 + 1] = 255 * Math.min(1, 0.92 * v);
      out[(y * w + x) * 3 + 2] = 255 * Math.min(1, v);
    }
  return out;
}
