// Tests for image preprocessing: formats, alpha flattening, crops, normalization, corrupt input and bombs.
import { describe, it, expect } from 'vitest';
import sharp from 'sharp';
import { Rng } from '../../util/rng.js';
import { syntheticImage } from '../shards/synthetic.js';
import { preprocessImage, transformToRgb, randomResizedCropBox, normalizeInto, ImageDecodeError, CLIP_MEAN, CLIP_STD } from './transform.js';

async function solid(w: number, h: number, rgb: [number, number, number], alpha?: number): Promise<Uint8Array> {
  const channels = alpha === undefined ? 3 : 4;
  const bg = alpha === undefined ? { r: rgb[0], g: rgb[1], b: rgb[2] } : { r: rgb[0], g: rgb[1], b: rgb[2], alpha };
  return new Uint8Array(await sharp({ create: { width: w, height: h, channels, background: bg } }).png().toBuffer());
}

describe('image transform', () => {
  it('decodes jpg, png and webp to S×S RGB in eval mode', async () => {
    for (const ext of ['jpg', 'png', 'webp'] as const) {
      const img = await syntheticImage(1, { width: 80, height: 48, ext });
      const rgb = await transformToRgb(img, { size: 32, mode: 'eval' });
      expect(rgb.length).toBe(32 * 32 * 3);
    }
  });

  it('keeps the stored colours of transparent pixels (flattens on white on request) and expands greyscale', async () => {
    const transparent = await solid(10, 10, [20, 40, 60], 0);
    expect([...(await transformToRgb(transparent, { size: 8, mode: 'eval' })).subarray(0, 3)]).toEqual([20, 40, 60]);
    expect([...(await transformToRgb(transparent, { size: 8, mode: 'eval', alpha: 'white' })).subarray(0, 3)]).toEqual([255, 255, 255]);
    const grey = new Uint8Array(await sharp({ create: { width: 10, height: 10, channels: 3, background: { r: 90, g: 90, b: 90 } } }).greyscale().png().toBuffer());
    const g = await transformToRgb(grey, { size: 8, mode: 'eval' });
    expect(g.length).toBe(8 * 8 * 3);
    expect([...g.subarray(0, 3)]).toEqual([90, 90, 90]);
  });

  it('normalizes with CLIP mean/std into CHW', async () => {
    const out = await preprocessImage(await solid(12, 12, [255, 0, 128]), { size: 4, mode: 'eval' });
    expect(out.length).toBe(3 * 16);
    expect(out[0]).toBeCloseTo((1 - CLIP_MEAN[0]) / CLIP_STD[0], 5);
    expect(out[16]).toBeCloseTo((0 - CLIP_MEAN[1]) / CLIP_STD[1], 5);
    expect(out[32]).toBeCloseTo((128 / 255 - CLIP_MEAN[2]) / CLIP_STD[2], 5);
    const buf = new Float32Array(10 + 3);
    normalizeInto(new Uint8Array([0, 0, 0]), 1, buf, 10);
    expect(buf[10]).toBeCloseTo(-CLIP_MEAN[0] / CLIP_STD[0], 5);
  });

  it('RandomResizedCrop boxes stay in range, cover ≥ 90% of the area and are seeded', () => {
    const rng = new Rng(1);
    for (let i = 0; i < 200; i++) {
      const b = randomResizedCropBox(100, 90, rng);
      expect(b.left + b.width).toBeLessThanOrEqual(100);
      expect(b.top + b.height).toBeLessThanOrEqual(90);
      expect(b.width * b.height).toBeGreaterThanOrEqual(0.88 * 9000);
    }
    expect(randomResizedCropBox(100, 60, new Rng(5))).toEqual(randomResizedCropBox(100, 60, new Rng(5)));
    // fallback for extreme aspect ratios: center crop with clamped ratio
    expect(randomResizedCropBox(1000, 10, new Rng(1))).toEqual({ left: 493, top: 0, width: 13, height: 10 });
  });

  it('train mode is deterministic for a given seed, and the seed changes the crop', async () => {
    const img = await syntheticImage(3, { width: 90, height: 70 });
    const train = (seed: number) => preprocessImage(img, { size: 32, mode: 'train', scale: [0.3, 0.6] }, new Rng(seed));
    const same = (x: Float32Array, y: Float32Array) => Buffer.from(x.buffer).equals(Buffer.from(y.buffer));
    const a = await train(7);
    expect(same(a, await train(7))).toBe(true);
    // Augmentation really happens: other seeds give other crops, and none is the plain eval view.
    const evalView = await preprocessImage(img, { size: 32, mode: 'eval' });
    const others = await Promise.all([8, 9, 10].map(train));
    for (const o of others) expect(same(a, o)).toBe(false);
    for (const o of [a, ...others]) expect(same(o, evalView)).toBe(false);
  });

  it('throws typed errors for corrupt/truncated images and decompression bombs', async () => {
    const jpg = await syntheticImage(1, { size: 64, ext: 'jpg' });
    const garbage = new Uint8Array(jpg);
    garbage.fill(0x55, 20, 200);
    const truncated = jpg.subarray(0, Math.floor(jpg.length / 2));
    for (const bad of [garbage, truncated, new Uint8Array([1, 2, 3])]) {
      const err = await transformToRgb(bad, { size: 16, mode: 'eval' }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ImageDecodeError);
      expect((err as ImageDecodeError).reason).toBe('corrupt');
    }
    const big = await solid(200, 200, [1, 2, 3]);
    const err = await transformToRgb(big, { size: 16, mode: 'eval', maxPixels: 100 * 100 }).catch((e: unknown) => e);
    expect((err as ImageDecodeError).reason).toBe('too-large');
  });
});

describe('JS bicubic resample', () => {
  it('matches sharp cubic resize of the same crop within a few levels, both when shrinking and enlarging', async () => {
    const { cropResizeRgb } = await import('./resample.js');
    const img = await syntheticImage(4, { width: 96, height: 80 });
    const { data } = await sharp(img).raw().toBuffer({ resolveWithObject: true });
    for (const [box, S] of [
      [{ left: 5, top: 3, width: 80, height: 70 }, 32],
      [{ left: 10, top: 8, width: 40, height: 30 }, 64],
    ] as const) {
      const ours = cropResizeRgb(data, 96, box, S, S);
      const theirs = await sharp(img).extract(box).resize(S, S, { fit: 'fill', kernel: 'cubic' }).raw().toBuffer();
      let diff = 0;
      for (let i = 0; i < ours.length; i++) diff += Math.abs(ours[i]! - theirs[i]!);
      expect(diff / ours.length).toBeLessThan(2);
    }
  });
});

describe('JS bicubic resample: Pillow arithmetic', () => {
  const row = (values: number[]): Uint8Array => Uint8Array.from(values.flatMap((v) => [v, v, v]));
  const red = (rgb: Uint8Array): number[] => Array.from(rgb.filter((_, i) => i % 3 === 0));

  it('gives the values worked by hand from Pillow 8-bit fixed-point resampling, overshoot clipped', async () => {
    const { cropResizeRgb } = await import('./resample.js');
    // 2 → 4 (enlarging): weights (1.0882, −0.0882) at the ends, so 100, 200 → 91 …; 0, 255 overshoots below 0
    expect(red(cropResizeRgb(row([100, 200]), 2, { left: 0, top: 0, width: 2, height: 1 }, 4, 1))).toEqual([91, 121, 179, 209]);
    expect(red(cropResizeRgb(row([0, 255]), 2, { left: 0, top: 0, width: 2, height: 1 }, 4, 1))).toEqual([0, 53, 202, 255]);
    // 5 → 3 (shrinking: the support widens by 5/3)
    expect(red(cropResizeRgb(row([10, 20, 250, 30, 40]), 5, { left: 0, top: 0, width: 5, height: 1 }, 3, 1))).toEqual([14, 156, 36]);
    // the crop box offsets into the source row
    expect(red(cropResizeRgb(row([7, 7, 100, 200, 7]), 5, { left: 2, top: 0, width: 2, height: 1 }, 4, 1))).toEqual([91, 121, 179, 209]);
  });

  it('copies exactly at scale 1, keeps flat images flat, and writes at an offset without touching the rest', async () => {
    const { cropResizeRgb } = await import('./resample.js');
    const img = Uint8Array.from({ length: 9 * 7 * 3 }, (_, i) => (i * 37) % 256);
    expect(cropResizeRgb(img, 9, { left: 0, top: 0, width: 9, height: 7 }, 9, 7)).toEqual(img);
    const flat = new Uint8Array(30 * 20 * 3).fill(173);
    for (const [w, h, S] of [[30, 20, 12], [17, 11, 40], [29, 19, 29]] as const) {
      expect(cropResizeRgb(flat, 30, { left: 30 - w, top: 20 - h, width: w, height: h }, S, S).every((v) => v === 173)).toBe(true);
    }
    const out = new Uint8Array(5 + 4 * 4 * 3 + 5).fill(9);
    cropResizeRgb(flat, 30, { left: 0, top: 0, width: 30, height: 20 }, 4, 4, out, 5);
    expect(Array.from(out.subarray(0, 5))).toEqual([9, 9, 9, 9, 9]);
    expect(out.subarray(5, 5 + 48).every((v) => v === 173)).toBe(true);
    expect(Array.from(out.subarray(53))).toEqual([9, 9, 9, 9, 9]);
  });
});

describe('header sniffing', () => {
  it('reads the dimensions of png, jpg and webp (lossy and lossless) like sharp does', async () => {
    const { sniffDimensions } = await import('./header.js');
    const img = await syntheticImage(1, { width: 37, height: 21 });
    const variants = [
      img,
      await sharp(img).jpeg().toBuffer(),
      await sharp(img).webp({ lossless: false }).toBuffer(),
      await sharp(img).webp({ lossless: true }).toBuffer(),
      await sharp(img).ensureAlpha().webp({ lossless: false }).toBuffer(),
    ];
    for (const v of variants) expect(sniffDimensions(new Uint8Array(v))).toEqual({ width: 37, height: 21 });
    expect(sniffDimensions(new Uint8Array([1, 2, 3]))).toBeNull();
  });
});

describe('PNG fast path', () => {
  it('decodes gray, RGB and RGBA PNGs like sharp (alpha dropped), and defers the rest', async () => {
    const { decodePngFast } = await import('./png.js');
    const rgba = await syntheticImage(2, { width: 23, height: 17, alpha: true });
    const rgb = await syntheticImage(2, { width: 23, height: 17 });
    const variants = [
      rgb,
      rgba,
      await sharp(rgb).png({ compressionLevel: 9, adaptiveFiltering: true }).toBuffer(),
      await sharp(rgb).greyscale().png().toBuffer(),
      await sharp(rgba).greyscale().png().toBuffer(),
    ];
    for (const v of variants) {
      const ours = decodePngFast(new Uint8Array(v));
      expect(ours).not.toBeNull();
      const { data } = await sharp(v).removeAlpha().toColourspace('srgb').raw().toBuffer({ resolveWithObject: true });
      expect(ours!.width).toBe(23);
      expect(Buffer.from(ours!.data).equals(data)).toBe(true);
    }
    expect(decodePngFast(new Uint8Array(await sharp(rgb).png({ palette: true }).toBuffer()))).toBeNull();
    expect(decodePngFast(new Uint8Array(await sharp(rgb).png({ progressive: true }).toBuffer()))).toBeNull();
    expect(() => decodePngFast(rgb.subarray(0, rgb.length - 30))).toThrow();
  });
});

describe('decoded-image cache', () => {
  it('gives the same pixels on a revisit, and callers cannot change the cached copy', async () => {
    const png = await sharp({ create: { width: 64, height: 64, channels: 3, background: { r: 200, g: 40, b: 90 } } }).png().toBuffer();
    const opts = { size: 64, mode: 'eval' as const };
    const first = await transformToRgb(new Uint8Array(png), opts);
    const expected = Uint8Array.from(first);
    first.fill(0);
    const second = await transformToRgb(new Uint8Array(png), opts);
    expect(second).not.toBe(first);
    expect(Array.from(second.subarray(0, 6))).toEqual([200, 40, 90, 200, 40, 90]);
    expect(second).toEqual(expected);
  });
});
