// The deterministic ImageNet-C corruptions against the reference formulas computed with the libraries the
// reference uses (scipy.ndimage, Pillow; colorsys for HSV; ImageMagick for motion blur), on a fixed image,
// at every severity.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, expect, it } from 'vitest';
import { corruptImage } from '../../src/data/images/corruptions/corruptions.js';
import { prepareCrop } from '../../src/eval/corrupt-folder.js';
import { motionBlur } from '../../src/data/images/corruptions/textures.js';
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
      const got = Uint8Array.from(p.data, (v) => Math.floor(255 * Math.min(1, Math.max(0, v)) + 1e-6));
      const c = compare(got, Array.from(data));
      expect(c.max, `${r}x${s}+${a}`).toBeLessThanOrEqual(1);
      expect(c.differ, `${r}x${s}+${a}`).toBeLessThan(0.02);
    }
  });
});
