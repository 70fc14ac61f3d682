// Bicubic crop-and-resize of small RGB images in JS, computed as Pillow computes `crop(box).resize(size, BICUBIC)`
// for 8-bit images (what OpenCLIP's torchvision transforms call): a = -0.5, support widened by the scale when
// shrinking, coefficients in 22-bit fixed point, and a horizontal pass rounded and clipped to 8 bits before the
// vertical one. Faster than a second sharp pass for thumbnails; this is the loader's hottest loop.

function bicubic(x: number): number {
  const a = -0.5;
  x = Math.abs(x);
  if (x < 1) return ((a + 2) * x - (a + 3)) * x * x + 1;
  if (x < 2) return (((x - 5) * x + 8) * x - 4) * a;
  return 0;
}

/** Pillow's PRECISION_BITS for 8-bit images. */
const BITS = 22;
const ONE = 1 << BITS;
const HALF = 1 << (BITS - 1);
const MAX = 255 << BITS;

interface Coeffs {
  /** First input sample of each output sample. */
  start: Int32Array;
  /** Number of input samples (zero-weight taps at either end dropped). */
  count: Int32Array;
  /** Fixed-point weights, `taps` per output sample. */
  k: Int32Array;
  taps: number;
}

/** Pillow's precompute_coeffs + normalize_coeffs_8bpc, for input span [0, inLen) onto `outSize` samples. */
function coefficients(inLen: number, outSize: number): Coeffs {
  const scale = inLen / outSize;
  const filterScale = Math.max(scale, 1);
  const support = 2 * filterScale;
  const taps = Math.ceil(support) * 2 + 1;
  const start = new Int32Array(outSize);
  const count = new Int32Array(outSize);
  const k = new Int32Array(outSize * taps);
  const w = new Float64Array(taps);
  const q = new Int32Array(taps);
  for (let o = 0; o < outSize; o++) {
    const center = (o + 0.5) * scale;
    const lo = Math.max(0, Math.trunc(center - support + 0.5));
    const n = Math.min(inLen, Math.trunc(center + support + 0.5)) - lo;
    let sum = 0;
    for (let x = 0; x < n; x++) sum += w[x] = bicubic((x + lo - center + 0.5) / filterScale);
    for (let x = 0; x < n; x++) {
      const v = sum !== 0 ? w[x]! / sum : w[x]!;
      q[x] = v < 0 ? Math.trunc(-0.5 + v * ONE) : Math.trunc(0.5 + v * ONE);
    }
    // Zero taps contribute nothing; dropping them lets the common 4-tap case take the unrolled loops below.
    let a = 0;
    let b = n;
    while (a < b && q[a] === 0) a++;
    while (b > a && q[b - 1] === 0) b--;
    for (let x = a; x < b; x++) k[o * taps + x - a] = q[x]!;
    start[o] = lo + a;
    count[o] = b - a;
  }
  return { start, count, k, taps };
}

/** Coefficients by (input span, output size): RandomResizedCrop draws from a few dozen spans per image size. */
const cache = new Map<number, Coeffs>();
function cachedCoefficients(inLen: number, outSize: number): Coeffs {
  const key = inLen * 65536 + outSize;
  let c = cache.get(key);
  if (!c) {
    if (cache.size >= 4096) cache.clear();
    c = coefficients(inLen, outSize);
    cache.set(key, c);
  }
  return c;
}

/** Pillow's clip8: the fixed-point sum back to a byte. The 4-tap loops sum in int32 (Math.imul): a byte times
 * weights whose magnitudes add up to < 1.3 · 2^22 stays below 2^31. */
const clip8 = (v: number): number => (v <= 0 ? 0 : v >= MAX ? 255 : v >> BITS);

let scratch = new Uint8Array(0);

/**
 * Crops `box` out of an RGB (HWC, 3 channels) image of width `w` and resizes it to `outW`×`outH` with bicubic
 * filtering; writes the RGB bytes into `out` at `offset` (a new array when omitted) and returns `out`.
 * Synchronous, so the module-level scratch buffer is safe to reuse.
 */
export function cropResizeRgb(
  src: Uint8Array,
  w: number,
  box: { left: number; top: number; width: number; height: number },
  outW: number,
  outH: number,
  out: Uint8Array = new Uint8Array(outW * outH * 3),
  offset = 0,
): Uint8Array {
  const cx = cachedCoefficients(box.width, outW);
  const cy = cachedCoefficients(box.height, outH);
  const stride = outW * 3;
  // Horizontal pass over only the rows the vertical pass reads: [rows][outW][3] bytes.
  const y0 = cy.start[0]!;
  const rows = cy.start[outH - 1]! + cy.count[outH - 1]! - y0;
  if (scratch.length < rows * stride) scratch = new Uint8Array(rows * stride);
  const tmp = scratch;
  const xs = cx.start;
  const xn = cx.count;
  const xk = cx.k;
  for (let y = 0; y < rows; y++) {
    const row = ((box.top + y0 + y) * w + box.left) * 3;
    for (let o = 0, t = y * stride; o < outW; o++, t += 3) {
      const n = xn[o]!;
      const kb = o * cx.taps;
      let p = row + xs[o]! * 3;
      if (n === 4) {
        const k0 = xk[kb]!;
        const k1 = xk[kb + 1]!;
        const k2 = xk[kb + 2]!;
        const k3 = xk[kb + 3]!;
        tmp[t] = clip8((HALF + Math.imul(src[p]!, k0) + Math.imul(src[p + 3]!, k1) + Math.imul(src[p + 6]!, k2) + Math.imul(src[p + 9]!, k3)) | 0);
        tmp[t + 1] = clip8((HALF + Math.imul(src[p + 1]!, k0) + Math.imul(src[p + 4]!, k1) + Math.imul(src[p + 7]!, k2) + Math.imul(src[p + 10]!, k3)) | 0);
        tmp[t + 2] = clip8((HALF + Math.imul(src[p + 2]!, k0) + Math.imul(src[p + 5]!, k1) + Math.imul(src[p + 8]!, k2) + Math.imul(src[p + 11]!, k3)) | 0);
        continue;
      }
      let r = HALF;
      let g = HALF;
      let b = HALF;
      for (let j = 0; j < n; j++, p += 3) {
        const k = xk[kb + j]!;
        r += src[p]! * k;
        g += src[p + 1]! * k;
        b += src[p + 2]! * k;
      }
      tmp[t] = clip8(r);
      tmp[t + 1] = clip8(g);
      tmp[t + 2] = clip8(b);
    }
  }
  // Vertical pass, a whole output row at a time so memory is read in order.
  const yk = cy.k;
  for (let o = 0; o < outH; o++) {
    const n = cy.count[o]!;
    const kb = o * cy.taps;
    const base = (cy.start[o]! - y0) * stride;
    const orow = offset + o * stride;
    if (n === 4) {
      const k0 = yk[kb]!;
      const k1 = yk[kb + 1]!;
      const k2 = yk[kb + 2]!;
      const k3 = yk[kb + 3]!;
      for (let i = 0, p = base; i < stride; i++, p++)
        out[orow + i] = clip8((HALF + Math.imul(tmp[p]!, k0) + Math.imul(tmp[p + stride]!, k1) + Math.imul(tmp[p + 2 * stride]!, k2) + Math.imul(tmp[p + 3 * stride]!, k3)) | 0);
      continue;
    }
    for (let i = 0; i < stride; i++) {
      let s = HALF;
      for (let j = 0, p = base + i; j < n; j++, p += stride) s += tmp[p]! * yk[kb + j]!;
      out[orow + i] = clip8(s);
    }
  }
  return out;
}
