// Image filters the ImageNet-C corruptions are defined with, hand-written to match the reference libraries'
// arithmetic (scipy.ndimage's gaussian_filter / zoom / map_coordinates, OpenCV's filter2D border, Pillow's
// 8-bit resampling, scikit-image's HSV): sharp offers none of these with the same kernels and borders.
// Images are float64 HWC planes with `c` channels.

export interface Plane {
  data: Float64Array;
  w: number;
  h: number;
  c: number;
}

export const plane = (w: number, h: number, c: number, data = new Float64Array(w * h * c)): Plane => ({ data, w, h, c });

/** Index into [0, n) for scipy's boundary modes ('nearest' = edge, 'reflect' = half-sample symmetric, 'mirror' = OpenCV's REFLECT_101). */
export function boundary(i: number, n: number, mode: 'nearest' | 'reflect' | 'mirror'): number {
  if (i >= 0 && i < n) return i;
  if (n === 1) return 0;
  if (mode === 'nearest') return i < 0 ? 0 : n - 1;
  if (mode === 'reflect') {
    const p = 2 * n;
    let j = ((i % p) + p) % p;
    if (j >= n) j = p - 1 - j;
    return j;
  }
  const p = 2 * n - 2;
  let j = ((i % p) + p) % p;
  if (j >= n) j = p - j;
  return j;
}

/** scipy.ndimage's 1-D Gaussian weights: radius = int(truncate·σ + 0.5), exp(−x²/2σ²) normalized. */
export function gaussianKernel1d(sigma: number, truncate = 4): Float64Array {
  const r = Math.trunc(truncate * sigma + 0.5);
  const k = new Float64Array(2 * r + 1);
  let s = 0;
  for (let i = -r; i <= r; i++) s += k[i + r] = Math.exp((-0.5 * i * i) / (sigma * sigma));
  for (let i = 0; i < k.length; i++) k[i]! /= s;
  return k;
}

/** Correlate every channel along x (axis 1) or y (axis 0) with a centred, symmetric 1-D kernel. */
export function correlate1d(p: Plane, k: Float64Array, axis: 0 | 1, mode: 'nearest' | 'reflect' | 'mirror'): Plane {
  const { w, h, c } = p;
  const out = new Float64Array(p.data.length);
  const r = (k.length - 1) >> 1;
  const n = axis === 1 ? w : h;
  const idx = new Int32Array(n + 2 * r);
  for (let i = 0; i < idx.length; i++) idx[i] = boundary(i - r, n, mode);
  const v = (y: number, x: number, j: number, ch: number) => p.data[(axis === 1 ? y * w + j : j * w + x) * c + ch]!;
  for (let y = 0; y < h; y++)
    for (let x = 0; x < w; x++) {
      const at = axis === 1 ? x : y;
      for (let ch = 0; ch < c; ch++) {
        // scipy's order for a symmetric kernel: centre first, then (left + right) pairs from the outside in.
        let s = v(y, x, idx[at + r]!, ch) * k[r]!;
        for (let t = 0; t < r; t++) s += (v(y, x, idx[at + t]!, ch) + v(y, x, idx[at + 2 * r - t]!, ch)) * k[t]!;
        out[(y * w + x) * c + ch] = s;
      }
    }
  return plane(w, h, c, out);
}

/** scipy.ndimage.gaussian_filter with σ on both spatial axes, none across channels (skimage's gaussian). */
export function gaussianFilter(p: Plane, sigma: number, mode: 'nearest' | 'reflect' = 'nearest', truncate = 4): Plane {
  const k = gaussianKernel1d(sigma, truncate);
  return correlate1d(correlate1d(p, k, 0, mode), k, 1, mode);
}

/** OpenCV's filter2D (correlation, anchor at the centre, BORDER_REFLECT_101) of every channel with a square kernel. */
export function filter2d(p: Plane, k: Float64Array, size: number): Plane {
  const { w, h, c } = p;
  const r = (size - 1) >> 1;
  const out = new Float64Array(p.data.length);
  for (let y = 0; y < h; y++)
    for (let x = 0; x < w; x++)
      for (let ch = 0; ch < c; ch++) {
        let s = 0;
        for (let dy = 0; dy < size; dy++) {
          const yy = boundary(y + dy - r, h, 'mirror');
          for (let dx = 0; dx < size; dx++) {
            const kv = k[dy * size + dx]!;
            if (kv !== 0) s += kv * p.data[(yy * w + boundary(x + dx - r, w, 'mirror')) * c + ch]!;
          }
        }
        out[(y * w + x) * c + ch] = s;
      }
  return plane(w, h, c, out);
}

/** Linear interpolation of channel `ch` at (y, x) with scipy's 'reflect' boundary (map_coordinates order=1). */
export function sampleLinear(p: Plane, y: number, x: number, ch: number, mode: 'reflect' | 'mirror' | 'nearest' = 'reflect'): number {
  const y0 = Math.floor(y);
  const x0 = Math.floor(x);
  const fy = y - y0;
  const fx = x - x0;
  const at = (yy: number, xx: number) => p.data[(boundary(yy, p.h, mode) * p.w + boundary(xx, p.w, mode)) * p.c + ch]!;
  // a + f·(b − a): a constant neighbourhood interpolates to exactly that constant.
  const lerp = (a: number, b: number, f: number) => (f === 0 ? a : a + f * (b - a));
  const top = lerp(at(y0, x0), fx === 0 ? 0 : at(y0, x0 + 1), fx);
  if (fy === 0) return top;
  return lerp(top, lerp(at(y0 + 1, x0), fx === 0 ? 0 : at(y0 + 1, x0 + 1), fx), fy);
}

/**
 * scipy.ndimage.zoom(order=1) of the spatial axes by `z` (grid_mode False): output side round(n·z), input
 * coordinate out·(n − 1)/(out − 1).
 */
export function zoomLinear(p: Plane, z: number): Plane {
  const ow = Math.round(p.w * z);
  const oh = Math.round(p.h * z);
  const sx = ow > 1 ? (p.w - 1) / (ow - 1) : 0;
  const sy = oh > 1 ? (p.h - 1) / (oh - 1) : 0;
  const out = plane(ow, oh, p.c);
  for (let y = 0; y < oh; y++)
    for (let x = 0; x < ow; x++)
      for (let ch = 0; ch < p.c; ch++) out.data[(y * ow + x) * p.c + ch] = sampleLinear(p, Math.min(y * sy, p.h - 1), Math.min(x * sx, p.w - 1), ch, 'nearest');
  return out;
}

/** A w×h window of `p` starting at (left, top). */
export function crop(p: Plane, left: number, top: number, w: number, h: number): Plane {
  const out = plane(w, h, p.c);
  for (let y = 0; y < h; y++) out.data.set(p.data.subarray(((top + y) * p.w + left) * p.c, ((top + y) * p.w + left + w) * p.c), y * w * p.c);
  return out;
}

/** The reference's clipped_zoom: zoom the centre ⌈n/z⌉ window by z, then cut the centre n back out. */
export function clippedZoom(p: Plane, z: number): Plane {
  const cw = Math.ceil(p.w / z);
  const ch = Math.ceil(p.h / z);
  const zoomed = zoomLinear(crop(p, (p.w - cw) >> 1, (p.h - ch) >> 1, cw, ch), z);
  return crop(zoomed, (zoomed.w - p.w) >> 1, (zoomed.h - p.h) >> 1, p.w, p.h);
}

// ------------------------------------------------------------------------------------------------ Pillow

/** Pillow's 8-bit resample (precompute_coeffs, 22-bit fixed point, horizontal pass then vertical) with a filter. */
export function pillowResize(rgb: Uint8Array, w: number, h: number, ow: number, oh: number, filter: 'box' | 'bilinear'): Uint8Array {
  const f = filter === 'box' ? (x: number) => (x > -0.5 && x <= 0.5 ? 1 : 0) : (x: number) => Math.max(0, 1 - Math.abs(x));
  const support = filter === 'box' ? 0.5 : 1;
  const pass = (src: Uint8Array, sw: number, sh: number, horizontal: boolean): Uint8Array => {
    const inLen = horizontal ? sw : sh;
    const outLen = horizontal ? ow : oh;
    const dw = horizontal ? ow : sw;
    const dh = horizontal ? sh : oh;
    const out = new Uint8Array(dw * dh * 3);
    const scale = inLen / outLen;
    const fs = Math.max(scale, 1);
    const sup = support * fs;
    for (let o = 0; o < outLen; o++) {
      const center = (o + 0.5) * scale;
      const lo = Math.max(0, Math.trunc(center - sup + 0.5));
      const hi = Math.min(inLen, Math.trunc(center + sup + 0.5));
      const ws: number[] = [];
      let sum = 0;
      for (let x = lo; x < hi; x++) {
        const v = f((x - center + 0.5) / fs);
        ws.push(v);
        sum += v;
      }
      const q = ws.map((v) => {
        const n = sum !== 0 ? v / sum : v;
        return n < 0 ? Math.trunc(-0.5 + n * (1 << 22)) : Math.trunc(0.5 + n * (1 << 22));
      });
      const other = horizontal ? dh : dw;
      for (let a = 0; a < other; a++)
        for (let ch = 0; ch < 3; ch++) {
          let s = 1 << 21;
          for (let t = 0; t < q.length; t++) {
            const x = lo + t;
            s += q[t]! * src[(horizontal ? a * sw + x : x * sw + a) * 3 + ch]!;
          }
          const v = s >> 22;
          out[(horizontal ? a * dw + o : o * dw + a) * 3 + ch] = v < 0 ? 0 : v > 255 ? 255 : v;
        }
    }
    return out;
  };
  let cur = rgb;
  if (ow !== w) cur = pass(cur, w, h, true);
  if (oh !== h) cur = pass(cur, ow, h, false);
  return cur === rgb ? Uint8Array.from(rgb) : cur;
}

// --------------------------------------------------------------------------------------------------- HSV

/** scikit-image's rgb2hsv of one pixel (values in [0, 1]); h in [0, 1). */
export function rgbToHsv(r: number, g: number, b: number): [number, number, number] {
  const v = Math.max(r, g, b);
  const delta = v - Math.min(r, g, b);
  const s = v === 0 ? 0 : delta / v;
  let hh = 0;
  if (delta !== 0) {
    // scikit-image assigns red, then green, then blue: the last maximal channel wins.
    if (b === v) hh = 4 + (r - g) / delta;
    else if (g === v) hh = 2 + (b - r) / delta;
    else hh = (g - b) / delta;
    hh = ((hh / 6) % 1 + 1) % 1;
  }
  return [hh, s, v];
}

/** scikit-image's hsv2rgb of one pixel. */
export function hsvToRgb(hh: number, s: number, v: number): [number, number, number] {
  const hi = Math.floor(hh * 6);
  const f = hh * 6 - hi;
  const p = v * (1 - s);
  const q = v * (1 - f * s);
  const t = v * (1 - (1 - f) * s);
  switch (((hi % 6) + 6) % 6) {
    case 0: return [v, t, p];
    case 1: return [q, v, p];
    case 2: return [p, v, t];
    case 3: return [p, q, v];
    case 4: return [t, p, v];
    default: return [v, p, q];
  }
}
