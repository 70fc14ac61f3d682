// The deterministic ImageNet-C corruptions against the reference formulas computed with the libraries the
// reference uses (scipy.ndimage, Pillow; colorsys for HSV; ImageMagick for motion blur), on a fixed image,
// at every severity; and glass blur, elastic transform, frost and motion blur given the same random draws.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, expect, it } from 'vitest';
import { corruptImage } from '../../src/data/images/corruptions/corruptions.js';
import { prepareCrop } from '../../src/eval/corrupt-folder.js';
import { frostTexture, motionBlur } from '../../src/data/images/corruptions/textures.js';
import { plane } from '../../src/data/images/corruptions/filters.js';
import { Rng } from '../../src/util/rng.js';
import { describeWith } from '../support/external.js';
import { pythonWith } from '../support/python.js';

const py = pythonWith(['scipy', 'PIL'], 'apt-get install python3-scipy python3-pil');
const W = 48;
const H = 48;
// A fixed image with edges, gradients, saturated and grey regions.
const IMAGE = Uint8Array.from({ length: W * H * 3 }, (_, i) => {
  const p = Math.floor(i / 3);
  const x = p % W;
  const y = Math.floor(p / W);
  const ch = i % 3;
  if (x < 12) return ch === 0 ? 230 : 20;
  if (y < 10) return 128;
  return (x * 5 + y * 3 * (ch + 1) + ((x * y) % 7) * 9) % 256;
});

const SCRIPT = `
import json, sys, io, colorsys
import numpy as np
from scipy import ndimage
from PIL import Image
d = json.load(sys.stdin)
w, h = d["w"], d["h"]
x8 = np.array(d["rgb"], dtype=np.uint8).reshape(h, w, 3)
x = x8 / 255.
# Each float-valued corruption also reports 255·clip(a) before truncation (under "<key>#f"): where that lies
# within float noise of an integer, the truncation may fall either way on another CPU or libm.
out = {}
cur = [None]
def u8(a):
    f = np.clip(a, 0, 1) * 255
    out[cur[0] + "#f"] = f.flatten().tolist()
    return np.uint8(f).flatten().tolist()
def clipped_zoom(img, z):
    ch = int(np.ceil(h / z)); top = (h - ch) // 2
    img = ndimage.zoom(img[top:top + ch, top:top + ch], (z, z, 1), order=1)
    t = (img.shape[0] - h) // 2
    return img[t:t + h, t:t + h]
def hsv_map(f):
    o = np.zeros_like(x)
    for i in range(h):
        for j in range(w):
            hh, s, v = colorsys.rgb_to_hsv(*x[i, j]); o[i, j] = colorsys.hsv_to_rgb(*f(hh, s, v))
    return o
for s in range(1, 6):
    c = [1, 2, 3, 4, 6][s - 1]
    cur[0] = "gaussian_blur/%d" % s; out[cur[0]] = u8(ndimage.gaussian_filter(x, sigma=(c, c, 0), mode="nearest", truncate=4.0))
    r, a = [(3, 0.1), (4, 0.5), (6, 0.5), (8, 0.5), (10, 0.5)][s - 1]
    L = np.arange(-8, 9) if r <= 8 else np.arange(-r, r + 1); ks = 3 if r <= 8 else 5
    X, Y = np.meshgrid(L, L); disc = np.array((X ** 2 + Y ** 2) <= r ** 2, dtype=np.float64); disc /= disc.sum()
    g = np.exp(-(np.arange(ks) - (ks - 1) / 2) ** 2 / (2 * a * a)); g /= g.sum()
    k = ndimage.correlate1d(ndimage.correlate1d(disc, g, axis=0, mode="mirror"), g, axis=1, mode="mirror")
    cur[0] = "defocus_blur/%d" % s; out[cur[0]] = u8(np.stack([ndimage.correlate(x[:, :, i], k, mode="mirror") for i in range(3)], axis=2))
    zs = [np.arange(1, 1.11, 0.01), np.arange(1, 1.16, 0.01), np.arange(1, 1.21, 0.02), np.arange(1, 1.26, 0.02), np.arange(1, 1.31, 0.03)][s - 1]
    acc = np.zeros_like(x)
    for z in zs: acc += clipped_zoom(x, z)
    cur[0] = "zoom_blur/%d" % s; out[cur[0]] = u8((x + acc) / (len(zs) + 1))
    c = [0.4, .3, .2, .1, .05][s - 1]; m = x.mean(axis=(0, 1), keepdims=True)
    cur[0] = "contrast/%d" % s; out[cur[0]] = u8((x - m) * c + m)
    c = [.1, .2, .3, .4, .5][s - 1]
    cur[0] = "brightness/%d" % s; out[cur[0]] = u8(hsv_map(lambda hh, ss, v: (hh, ss, min(v + c, 1))))
    c = [(0.3, 0), (0.1, 0), (2, 0), (5, 0.1), (20, 0.2)][s - 1]
    cur[0] = "saturate/%d" % s; out[cur[0]] = u8(hsv_map(lambda hh, ss, v: (hh, min(max(ss * c[0] + c[1], 0), 1), v)))
    c = [0.6, 0.5, 0.4, 0.3, 0.25][s - 1]
    im = Image.fromarray(x8).resize((int(w * c), int(h * c)), Image.BOX).resize((w, h), Image.BOX)
    out["pixelate/%d" % s] = np.array(im).flatten().tolist()
    buf = io.BytesIO(); Image.fromarray(x8).save(buf, "JPEG", quality=[25, 18, 15, 10, 7][s - 1])
    out["jpeg_compression/%d" % s] = np.array(Image.open(buf).convert("RGB")).flatten().tolist()
print(json.dumps(out))
`;

/**
 * Largest per-value difference, the share of values that differ at all, and (given the reference's values
 * before truncation) how many differ although the reference is not within float noise of an integer.
 */
function compare(a: Uint8Array, b: number[], beforeTruncation?: number[]): { max: number; differ: number; mean: number; offBoundary: number } {
  let max = 0;
  let differ = 0;
  let sum = 0;
  let offBoundary = 0;
  a.forEach((v, i) => {
    const d = Math.abs(v - b[i]!);
    max = Math.max(max, d);
    sum += d;
    if (!d) return;
    differ++;
    const f = beforeTruncation?.[i];
    if (f === undefined || Math.abs(f - Math.round(f)) > 1e-6) offBoundary++;
  });
  return { max, differ: differ / a.length, mean: sum / a.length, offBoundary };
}

describeWith(py, 'ImageNet-C corruptions against scipy / Pillow / colorsys', () => {
  it('match the reference formulas at every severity (exactly, or by one level where the value sits on a truncation boundary)', async () => {
    const want = py.run<Record<string, number[]>>(SCRIPT, { w: W, h: H, rgb: Array.from(IMAGE) });
    for (const [key, ref] of Object.entries(want)) {
      if (key.endsWith('#f')) continue;
      const [name, sev] = key.split('/') as [string, string];
      const got = await corruptImage(IMAGE, W, H, name, Number(sev), new Rng(0));
      const c = compare(got, ref, want[`${key}#f`]);
      if (process.env.CORRUPTION_STATS) console.log(key, JSON.stringify(c));
      if (name === 'jpeg_compression') {
        // Same quantization tables and 4:2:0; libjpeg builds may differ in the last bit of the IDCT/upsampling.
        expect(c.mean, key).toBeLessThan(0.5);
        expect(c.max, key).toBeLessThanOrEqual(8);
      } else if (name === 'pixelate') {
        expect(c.max, key).toBe(0);
      } else {
        expect(c.max, key).toBeLessThanOrEqual(1);
        // Off by one only where the reference's value sits on a truncation boundary (float noise decides
        // which way, and differs between CPUs and libms: constant regions blur to exact integers); anywhere
        // else the values are equal.
        expect(c.offBoundary, key).toBe(0);
      }
    }
  });
});

const CROP = `
import json, sys
import numpy as np
from PIL import Image
d = json.load(sys.stdin)
w, h = d["w"], d["h"]
im = Image.fromarray(np.array(d["rgb"], dtype=np.uint8).reshape(h, w, 3))
# torchvision Resize(256): short side 256, long side int(256 * long / short), PIL bilinear; CenterCrop(224).
rw, rh = (256, int(256 * h / w)) if w <= h else (int(256 * w / h), 256)
im = im.resize((rw, rh), Image.BILINEAR)
top, left = int(round((rh - 224) / 2.0)), int(round((rw - 224) / 2.0))
print(json.dumps(np.array(im)[top:top + 224, left:left + 224].flatten().tolist()))
`;

describeWith(py, 'the ImageNet-C crop against Pillow', () => {
  it('is Resize(256) with Pillow bilinear and CenterCrop(224), exactly', () => {
    for (const [w, h] of [[300, 261], [257, 400], [500, 375]] as const) {
      const rgb = Uint8Array.from({ length: w * h * 3 }, (_, i) => (Math.floor(i / 3) * 7 + (i % 3) * 50 + Math.floor(i / (3 * w)) * 3) % 256);
      const want = py.run<number[]>(CROP, { w, h, rgb: Array.from(rgb) });
      expect(compare(prepareCrop(rgb, w, h, 224).rgb, want).max, `${w}×${h}`).toBe(0);
    }
  });
});

const convert = '/usr/bin/convert';
const im = { name: 'ImageMagick (convert)', available: existsSync(convert) && spawnSync(convert, ['-version']).status === 0, why: 'apt-get install imagemagick' };
const scratch = mkdtempSync(join(tmpdir(), 'cliplab-mb-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

describeWith(im, 'motion blur against ImageMagick', () => {
  it('matches convert -motion-blur RxS+A (the MotionBlurImage the reference calls through Wand)', async () => {
    const src = join(scratch, 'in.png');
    await sharp(IMAGE, { raw: { width: W, height: H, channels: 3 } }).png().toFile(src);
    for (const [r, s, a] of [[10, 3, 0], [15, 5, 30], [15, 8, -45], [20, 15, 17.5], [12, 4, -100]] as const) {
      const dst = join(scratch, `out-${r}-${s}-${a}.png`);
      const run = spawnSync(convert, [src, '-motion-blur', `${r}x${s}${a < 0 ? '' : '+'}${a}`, dst]);
      expect(run.status, String(run.stderr)).toBe(0);
      const { data } = await sharp(readFileSync(dst)).removeAlpha().toColourspace('srgb').raw().toBuffer({ resolveWithObject: true });
      const p = motionBlur(plane(W, H, 3, Float64Array.from(IMAGE, (v) => v / 255)), r, s, a);
      // ImageMagick Q16 rounds the blurred value to a 16-bit quantum q (ClampToQuantum), and its 8-bit PNG
      // holds ⌊q/257⌋: a value just below a level (the far taps' tiny weights) comes out on that level.
      const got = Uint8Array.from(p.data, (v) => Math.floor(Math.round(65535 * Math.min(1, Math.max(0, v))) / 257));
      expect(compare(got, Array.from(data)).max, `${r}x${s}+${a}`).toBe(0);
    }
  });
});

// ---------------------------------------------------------------------------------------------------------
// The random corruptions, exactly: cliplab draws from its own generator, not NumPy's stream, but in the
// reference's order, so replaying that stream (the same seed, the same calls) hands the reference formula the
// same random numbers. Each script runs make_imagenet_c.py's arithmetic with those draws in place of
// np.random's, at every severity, on the fixed 48×48 image (square, as the reference's 224×224 crops are).

// One seed per severity; for motion blur they draw angles of both signs.
const SEEDS = [11, 1, 13, 2, 14];

/** The (sigma, max_delta, iterations) of make_imagenet_c.py's glass_blur, per severity. */
const GLASS = [[0.7, 1, 2], [0.9, 2, 1], [1, 2, 3], [1.1, 3, 2], [1.5, 4, 2]] as const;

/** np.random.randint(−d, d, size=2) (dx, then dy) for each pixel the reference's loop visits, from `rng`. */
function glassDraws(rng: Rng, s: number): number[] {
  const [, d, iterations] = GLASS[s - 1]!;
  const n = iterations * (H - 2 * d) * (W - 2 * d) * 2;
  return Array.from({ length: n }, () => rng.int(2 * d) - d);
}

/** uniform(−affine, affine) for the three points' (x, y), then uniform(−1, 1) over the image for dx's field, then dy's. */
function elasticDraws(rng: Rng, s: number): number[] {
  const affine = [24.4, 48.8, 4.88, 4.88, 4.88][s - 1]!; // the reference's 244·0.1, 244·0.2, 244·0.02
  return [...Array.from({ length: 6 }, () => rng.uniform(-affine, affine)), ...Array.from({ length: 2 * W * H }, () => rng.uniform(-1, 1))];
}

const RANDOM = `
import json, sys
import numpy as np
from scipy import ndimage
from scipy.ndimage import map_coordinates
d = json.load(sys.stdin)
w, h = d["w"], d["h"]
x8 = np.array(d["rgb"], dtype=np.uint8).reshape(h, w, 3)
out = {}
# The saved image is np.uint8 of the corruption's [0, 255] result; "#f" keeps that result before truncation.
def put(key, f):
    out[key + "#f"] = f.flatten().tolist()
    out[key] = np.uint8(f).flatten().tolist()
# skimage.filters.gaussian(multichannel=True): scipy's gaussian_filter, mode 'nearest', truncate 4, none across channels.
gaussian = lambda a, s: ndimage.gaussian_filter(a, sigma=(s, s, 0), mode="nearest", truncate=4.0)
for s in range(1, 6):
    # glass_blur, the reference's loop with its swap statement verbatim (on NumPy views, so it copies
    # x[h', w'] into x[h, w] and leaves x[h', w'] as it was).
    c = [(0.7, 1, 2), (0.9, 2, 1), (1, 2, 3), (1.1, 3, 2), (1.5, 4, 2)][s - 1]
    draws = iter(d["glass"][str(s)])
    x = np.uint8(gaussian(x8 / 255., c[0]) * 255)
    for i in range(c[2]):
        for hh in range(h - c[1], c[1], -1):
            for ww in range(w - c[1], c[1], -1):
                dx, dy = next(draws), next(draws)
                h_prime, w_prime = hh + dy, ww + dx
                x[hh, ww], x[h_prime, w_prime] = x[h_prime, w_prime], x[hh, ww]
    assert next(draws, None) is None
    put("glass_blur/%d" % s, np.clip(gaussian(x / 255., c[0]), 0, 1) * 255)
    # elastic_transform, in float64 (the reference's float32 moves values by ~1e-7). The affine step samples
    # bilinearly with BORDER_REFLECT_101 (scipy's 'mirror'), as cliplab documents, where cv2.warpAffine uses
    # 1/32-pixel fixed-point weights.
    c = [(244 * 2, 244 * 0.7, 244 * 0.1), (244 * 2, 244 * 0.08, 244 * 0.2), (244 * 0.05, 244 * 0.01, 244 * 0.02),
         (244 * 0.07, 244 * 0.01, 244 * 0.02), (244 * 0.12, 244 * 0.01, 244 * 0.02)][s - 1]
    r = np.array(d["elastic"][str(s)])
    image = x8 / 255.
    shape = image.shape
    center_square = np.float64(shape[:2]) // 2
    square_size = min(shape[:2]) // 3
    pts1 = np.float64([center_square + square_size, [center_square[0] + square_size, center_square[1] - square_size], center_square - square_size])
    pts2 = pts1 + r[:6].reshape(3, 2)
    # cv2.getAffineTransform(pts1, pts2): M with M·(p, 1) = q; warpAffine samples the source at M⁻¹·(x, y).
    M = np.linalg.solve(np.hstack([pts1, np.ones((3, 1))]), pts2).T
    inv = np.linalg.inv(np.vstack([M, [0, 0, 1]]))
    gy, gx = np.mgrid[0:h, 0:w].astype(np.float64)
    sx, sy = inv[0, 0] * gx + inv[0, 1] * gy + inv[0, 2], inv[1, 0] * gx + inv[1, 1] * gy + inv[1, 2]
    image = np.stack([map_coordinates(image[:, :, k], [sy, sx], order=1, mode="mirror") for k in range(3)], axis=2)
    # skimage's gaussian of a 2-D array with mode 'reflect', truncate 3.
    dx = ndimage.gaussian_filter(r[6:6 + w * h].reshape(h, w), c[1], mode="reflect", truncate=3) * c[0]
    dy = ndimage.gaussian_filter(r[6 + w * h:].reshape(h, w), c[1], mode="reflect", truncate=3) * c[0]
    dx, dy = dx[..., np.newaxis], dy[..., np.newaxis]
    X, Y, Z = np.meshgrid(np.arange(shape[1]), np.arange(shape[0]), np.arange(shape[2]))
    indices = np.reshape(Y + dy, (-1, 1)), np.reshape(X + dx, (-1, 1)), np.reshape(Z, (-1, 1))
    put("elastic_transform/%d" % s, np.clip(map_coordinates(image, indices, order=1, mode="reflect").reshape(shape), 0, 1) * 255)
    # frost: np.clip(c0·x + c1·frost, 0, 255), the reference's blend, with the texture cliplab blends.
    c = [(1, 0.4), (0.8, 0.6), (0.7, 0.7), (0.65, 0.7), (0.6, 0.75)][s - 1]
    frost = np.array(d["frost"][str(s)]).reshape(h, w, 3)
    put("frost/%d" % s, np.clip(c[0] * x8 + c[1] * frost, 0, 255))
print(json.dumps(out))
`;

describeWith(py, 'glass blur, elastic transform and frost against the reference formulas, given the same draws', () => {
  it('match make_imagenet_c.py at every severity (exactly, or by one level where the value sits on a truncation boundary)', async () => {
    const draws = (f: (rng: Rng, s: number) => number[] | Float64Array) => Object.fromEntries(SEEDS.map((seed, i) => [i + 1, Array.from(f(new Rng(seed), i + 1))]));
    // The procedural frost texture is the first thing frost draws, so the same seed regenerates it.
    const want = py.run<Record<string, number[]>>(RANDOM, {
      w: W, h: H, rgb: Array.from(IMAGE), glass: draws(glassDraws), elastic: draws(elasticDraws), frost: draws((rng) => frostTexture(W, H, rng)),
    });
    for (const name of ['glass_blur', 'elastic_transform', 'frost']) {
      for (let s = 1; s <= 5; s++) {
        const key = `${name}/${s}`;
        const got = await corruptImage(IMAGE, W, H, name, s, new Rng(SEEDS[s - 1]!));
        const c = compare(got, want[key]!, want[`${key}#f`]);
        if (process.env.CORRUPTION_STATS) console.log(key, JSON.stringify(c));
        expect(c.max, key).toBeLessThanOrEqual(1);
        expect(c.offBoundary, key).toBe(0);
      }
    }
  });
});

describeWith(im, 'motion blur through corruptImage against ImageMagick', () => {
  it('is convert -motion-blur RxS+A with the reference (radius, sigma) and the angle drawn from uniform(−45, 45), at every severity', async () => {
    const src = join(scratch, 'in-sev.png');
    await sharp(IMAGE, { raw: { width: W, height: H, channels: 3 } }).png().toFile(src);
    const angles: number[] = [];
    for (let s = 1; s <= 5; s++) {
      const [r, sigma] = ([[10, 3], [15, 5], [15, 8], [15, 12], [20, 15]] as const)[s - 1]!;
      // The angle is motion blur's only draw: the same seed gives it.
      const angle = new Rng(SEEDS[s - 1]!).uniform(-45, 45);
      angles.push(angle);
      const dst = join(scratch, `sev-${s}.png`);
      const run = spawnSync(convert, [src, '-motion-blur', `${r}x${sigma}${angle < 0 ? '' : '+'}${angle}`, dst]);
      expect(run.status, String(run.stderr)).toBe(0);
      const { data } = await sharp(readFileSync(dst)).removeAlpha().toColourspace('srgb').raw().toBuffer({ resolveWithObject: true });
      const got = await corruptImage(IMAGE, W, H, 'motion_blur', s, new Rng(SEEDS[s - 1]!));
      expect(compare(got, Array.from(data)).max, `severity ${s} (${angle}°)`).toBe(0);
    }
    // The seeds exercise both signs of the angle.
    expect(Math.min(...angles)).toBeLessThan(0);
    expect(Math.max(...angles)).toBeGreaterThan(0);
  });
});
