// The random corruptions against the reference formulas' statistics on fixed images (noise scale from the
// interquartile range, Poisson moments, flip rates, the bounds fog and snow imply), exact values where a
// formula is deterministic for the image (frost with a given texture, constant images), and seeding.
import { describe, expect, it } from 'vitest';
import { Rng } from '../../../util/rng.js';
import { corruptImage, CORRUPTION_NAMES } from './corruptions.js';
import { frostTexture, plasmaFractal } from './textures.js';

const W = 64;
const H = 64;
const solid = (v: number, w = W, h = H) => new Uint8Array(w * h * 3).fill(v);
const gradient = () => Uint8Array.from({ length: W * H * 3 }, (_, i) => {
  const p = Math.floor(i / 3);
  return ((p % W) * 4 + Math.floor(p / W) * 2 + (i % 3) * 40) % 256;
});
const quantile = (xs: number[], q: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(q * (s.length - 1))]!;
};

describe('noise corruptions', () => {
  it('gaussian and speckle noise: the spread of (out − in) matches σ = c (or c·x) at every severity', async () => {
    const v = 128;
    for (let s = 1; s <= 5; s++) {
      const g = await corruptImage(solid(v), W, H, 'gaussian_noise', s, new Rng(s));
      const d = Array.from(g, (x) => (x - v) / 255);
      const sigma = (quantile(d, 0.75) - quantile(d, 0.25)) / 1.349;
      expect(sigma).toBeCloseTo([0.08, 0.12, 0.18, 0.26, 0.38][s - 1]!, 1);
      expect(Math.abs(sigma / [0.08, 0.12, 0.18, 0.26, 0.38][s - 1]! - 1)).toBeLessThan(0.06);
      const sp = await corruptImage(solid(v), W, H, 'speckle_noise', s, new Rng(s));
      const ds = Array.from(sp, (x) => (x - v) / v);
      expect(Math.abs((quantile(ds, 0.75) - quantile(ds, 0.25)) / 1.349 / [0.15, 0.2, 0.35, 0.45, 0.6][s - 1]! - 1)).toBeLessThan(0.06);
    }
  });

  it('shot noise: mean and variance of min(Poisson(x·c)/c, 1) at x = 0.4', async () => {
    const v = 102; // 0.4
    for (let s = 1; s <= 5; s++) {
      const c = [60, 25, 12, 5, 3][s - 1]!;
      const lam = (v / 255) * c;
      // Exact moments of the truncated-to-8-bit, clipped Poisson: E[trunc(255·min(k/c, 1))].
      let m = 0;
      let m2 = 0;
      let p = Math.exp(-lam);
      for (let k = 0; k < 200; k++) {
        const out = Math.trunc(255 * Math.min(k / c, 1));
        m += p * out;
        m2 += p * out * out;
        p *= lam / (k + 1);
      }
      const img = await corruptImage(solid(v), W, H, 'shot_noise', s, new Rng(10 + s));
      const mean = img.reduce((a, x) => a + x, 0) / img.length;
      const varr = img.reduce((a, x) => a + (x - mean) ** 2, 0) / img.length;
      const sd = Math.sqrt(m2 - m * m);
      expect(Math.abs(mean - m)).toBeLessThan((4 * sd) / Math.sqrt(img.length));
      expect(Math.abs(Math.sqrt(varr) / sd - 1)).toBeLessThan(0.05);
    }
  });

  it('impulse noise: a fraction c of the values become 0 or 255, half each', async () => {
    for (let s = 1; s <= 5; s++) {
      const c = [0.03, 0.06, 0.09, 0.17, 0.27][s - 1]!;
      const img = await corruptImage(solid(100), W, H, 'impulse_noise', s, new Rng(20 + s));
      const salt = img.filter((x) => x === 255).length / img.length;
      const pepper = img.filter((x) => x === 0).length / img.length;
      const se = Math.sqrt((c * (1 - c)) / img.length);
      expect(Math.abs(salt + pepper - c)).toBeLessThan(4 * se);
      expect(Math.abs(salt - pepper)).toBeLessThan(4 * Math.sqrt(c / img.length));
      expect(img.filter((x) => x !== 0 && x !== 255 && x !== 100).length).toBe(0);
    }
  });
});

describe('weather and geometric corruptions', () => {
  it('fog on a constant image x: values span exactly [x²/(x + c), x] (the fractal spans [0, 1])', async () => {
    const v = 153; // 0.6
    for (let s = 1; s <= 5; s++) {
      const c = [1.5, 2, 2.5, 2.5, 3][s - 1]!;
      const img = await corruptImage(solid(v), W, H, 'fog', s, new Rng(s));
      const x = v / 255;
      expect(Math.min(...img)).toBeGreaterThanOrEqual(Math.trunc((255 * x * x) / (x + c)));
      expect(Math.max(...img)).toBeLessThanOrEqual(Math.trunc(255 * x) + 1);
      // The 64×64 window of a 256 fractal need not reach its extremes, but it spreads well over the range.
      expect(Math.max(...img) - Math.min(...img)).toBeGreaterThan(0.3 * 255 * (x - (x * x) / (x + c)));
    }
    const f = plasmaFractal(256, 2, new Rng(3));
    expect(Math.min(...f)).toBe(0);
    expect(Math.max(...f)).toBe(1);
  });

  it('snow on black: every pixel at least (1 − mix)·0.5, the lifted background, with flakes above it', async () => {
    for (let s = 1; s <= 5; s++) {
      const mix = [0.8, 0.7, 0.7, 0.65, 0.55][s - 1]!;
      const img = await corruptImage(solid(0), W, H, 'snow', s, new Rng(s));
      const floor = Math.trunc(255 * (1 - mix) * 0.5);
      expect(Math.min(...img)).toBeGreaterThanOrEqual(floor);
      expect(img.filter((x) => x > floor + 2).length).toBeGreaterThan(0);
    }
  });

  it('frost with a given texture is c0·x + c1·texture, clipped, exactly', async () => {
    const tex = { rgb: solid(50, 80, 80), w: 80, h: 80 };
    for (let s = 1; s <= 5; s++) {
      const [a, b] = [[1, 0.4], [0.8, 0.6], [0.7, 0.7], [0.65, 0.7], [0.6, 0.75]][s - 1]!;
      const img = await corruptImage(solid(200), W, H, 'frost', s, new Rng(s), { frost: [tex] });
      const want = Math.trunc(Math.min(255, a! * 200 + b! * 50));
      expect(new Set(img)).toEqual(new Set([want]));
    }
  });

  it('the procedural frost texture: bluish, a dim haze with bright streaks over part of it, new for each seed', () => {
    const textures = [1, 2, 3, 4, 5, 6, 7, 8].map((seed) => frostTexture(W, H, new Rng(seed)));
    for (const t of textures) {
      let streaks = 0;
      let max = 0;
      let tint = 0;
      let outside = 0;
      for (let i = 0; i < W * H; i++) {
        const [r, g, b] = [t[3 * i]!, t[3 * i + 1]!, t[3 * i + 2]!];
        if (Math.min(r, g, b) < 0 || Math.max(r, g, b) > 255) outside++;
        // The tint 0.85 : 0.92 : 1 of one brightness, exact wherever blue is not clipped.
        if (b < 255) tint = Math.max(tint, Math.abs(r - 0.85 * b), Math.abs(g - 0.92 * b));
        // The haze alone gives at most 0.35 of full brightness; above that is a streak.
        if (b > 0.35 * 255) streaks++;
        max = Math.max(max, b);
      }
      expect(outside).toBe(0);
      expect(tint).toBeLessThan(1e-9);
      // At a power-of-two size the haze is a whole plasma, scaled to reach 1 somewhere: so 0.35 at least.
      expect(max).toBeGreaterThanOrEqual(0.35 * 255 - 1e-9);
      // Streaks cover part of the texture, not all of it (frost over an image, not a white-out).
      expect(streaks / (W * H)).toBeGreaterThan(0.05);
      expect(streaks / (W * H)).toBeLessThan(0.6);
    }
    // Like the reference's random crop, the texture changes with the draws: another seed, another texture.
    const d = textures[0]!.reduce((a, v, i) => a + Math.abs(v - textures[1]![i]!), 0) / textures[0]!.length;
    expect(d).toBeGreaterThan(10);
  });

  it('blurs, elastic and glass leave a constant image constant (to 8-bit truncation); they move a gradient', async () => {
    for (const name of ['glass_blur', 'motion_blur', 'elastic_transform', 'defocus_blur', 'zoom_blur', 'gaussian_blur']) {
      for (const s of [1, 5]) {
        const img = await corruptImage(solid(90), W, H, name, s, new Rng(s));
        // Kernels sum to 1 up to rounding, and the output is truncated to 8 bits as the reference's is: 89 or 90.
        expect(Math.min(...img), `${name} ${s}`).toBeGreaterThanOrEqual(89);
        expect(Math.max(...img), `${name} ${s}`).toBeLessThanOrEqual(90);
        const g = gradient();
        const out = await corruptImage(g, W, H, name, s, new Rng(s));
        const diff = out.reduce((a, x, i) => a + Math.abs(x - g[i]!), 0) / g.length;
        expect(diff, `${name} ${s}`).toBeGreaterThan(0.5);
      }
    }
  });
});

describe('corruptImage', () => {
  it('is deterministic by seed, for every corruption and severity, and keeps the size', async () => {
    const g = gradient();
    for (const name of CORRUPTION_NAMES) {
      for (let s = 1; s <= 5; s++) {
        const a = await corruptImage(g, W, H, name, s, new Rng(7));
        const b = await corruptImage(g, W, H, name, s, new Rng(7));
        expect(a.length).toBe(g.length);
        expect(Buffer.from(a).equals(Buffer.from(b)), `${name} ${s}`).toBe(true);
      }
    }
    const x = await corruptImage(g, W, H, 'gaussian_noise', 3, new Rng(1));
    const y = await corruptImage(g, W, H, 'gaussian_noise', 3, new Rng(2));
    expect(Buffer.from(x).equals(Buffer.from(y))).toBe(false);
  });

  it('rejects an unknown corruption, a bad severity and a wrong buffer size', async () => {
    await expect(corruptImage(solid(0), W, H, 'spatter', 1, new Rng(0))).rejects.toThrow(/unknown corruption 'spatter'/);
    await expect(corruptImage(solid(0), W, H, 'fog', 6, new Rng(0))).rejects.toThrow(/severity 6/);
    await expect(corruptImage(solid(0), W, H - 1, 'fog', 1, new Rng(0))).rejects.toThrow(/bytes for/);
  });
});
