// Tests for transparency: Pillow's convert('RGB') by default (the stored colours, alpha ignored), flattening on
// white or black as options, and the PNG fast path and sharp agreeing byte for byte on RGBA and gray+alpha PNGs.
import { describe, it, expect } from 'vitest';
import sharp from 'sharp';
import { crc32, deflateSync } from 'node:zlib';
import { describeWith } from '../../../test/support/external.js';
import { pythonWith } from '../../../test/support/python.js';
import { Rng } from '../../util/rng.js';
import { ALPHA_MODES, type AlphaMode } from './alpha.js';
import { decodePngFast } from './png.js';
import { transformToRgb } from './transform.js';

/** A PNG as the spec lays it out: 8-bit gray+alpha (type 4) or RGBA (6), filter 0, plain or Adam7-interlaced. */
function png(width: number, height: number, channels: 2 | 4, px: Uint8Array, interlace = false): Uint8Array {
  const chunk = (type: string, data: Uint8Array): Buffer => {
    const body = Buffer.concat([Buffer.from(type, 'latin1'), data]);
    const out = Buffer.alloc(12 + data.length);
    out.writeUInt32BE(data.length, 0);
    body.copy(out, 4);
    out.writeUInt32BE(crc32(body), 8 + data.length);
    return out;
  };
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr[8] = 8;
  ihdr[9] = channels === 2 ? 4 : 6;
  ihdr[12] = interlace ? 1 : 0;
  // Adam7 passes as (x0, y0, dx, dy); a plain image is the one pass (0, 0, 1, 1).
  const passes = interlace ? [[0, 0, 8, 8], [4, 0, 8, 8], [0, 4, 4, 8], [2, 0, 4, 4], [0, 2, 2, 4], [1, 0, 2, 2], [0, 1, 1, 2]] : [[0, 0, 1, 1]];
  const rows: number[] = [];
  for (const [x0, y0, dx, dy] of passes as [number, number, number, number][]) {
    if (x0 >= width) continue;
    for (let y = y0; y < height; y += dy) {
      rows.push(0);
      for (let x = x0; x < width; x += dx) for (let c = 0; c < channels; c++) rows.push(px[(y * width + x) * channels + c]!);
    }
  }
  const sig = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
  return new Uint8Array(Buffer.concat([sig, chunk('IHDR', ihdr), chunk('IDAT', deflateSync(Buffer.from(rows))), chunk('IEND', new Uint8Array(0))]));
}

/** What each mode must give for one stored pixel: the colours as stored, or round((v·a + bg·(255 − a)) / 255). */
function expected(mode: AlphaMode, v: number, a: number): number {
  if (mode === 'drop') return v;
  const bg = mode === 'white' ? 255 : 0;
  return Math.round((v * a + bg * (255 - a)) / 255);
}

function pixels(w: number, h: number, channels: number, seed: number): Uint8Array {
  const rng = new Rng(seed);
  const px = new Uint8Array(w * h * channels);
  for (let i = 0; i < px.length; i++) px[i] = rng.int(256);
  // Every alpha level once at least (0 and 255 included), so both rounding directions and the ends are seen.
  for (let i = 0; i < Math.min(w * h, 256); i++) px[i * channels + channels - 1] = i;
  return px;
}

describe('alpha', () => {
  const W = 24;
  const H = 24; // 576 pixels: every alpha level, and square so the eval view is the decoded image itself
  for (const channels of [4, 2] as const) {
    const kind = channels === 4 ? 'RGBA' : 'gray+alpha';
    it(`${kind}: the PNG fast path and sharp give the same bytes in every mode, the stored colours by default`, async () => {
      const px = pixels(W, H, channels, channels);
      const plain = png(W, H, channels, px);
      const interlaced = png(W, H, channels, px, true);
      // The plain file takes the fast path; sharp decodes the interlaced one (the fast path declines it).
      expect(decodePngFast(plain)).not.toBeNull();
      expect(decodePngFast(interlaced)).toBeNull();
      const meta = await sharp(interlaced).metadata();
      expect([meta.channels, meta.isProgressive]).toEqual([channels, true]);
      for (const mode of [undefined, ...ALPHA_MODES]) {
        const want = new Uint8Array(W * H * 3);
        for (let i = 0; i < W * H; i++) {
          const a = px[i * channels + channels - 1]!;
          for (let c = 0; c < 3; c++) want[i * 3 + c] = expected(mode ?? 'drop', px[i * channels + (channels === 4 ? c : 0)]!, a);
        }
        const fast = await transformToRgb(plain, { size: W, mode: 'eval', alpha: mode });
        const viaSharp = await transformToRgb(interlaced, { size: W, mode: 'eval', alpha: mode });
        expect(Buffer.from(fast).equals(Buffer.from(want)), `${kind} ${mode ?? 'default'}: fast path`).toBe(true);
        expect(Buffer.from(viaSharp).equals(Buffer.from(want)), `${kind} ${mode ?? 'default'}: sharp`).toBe(true);
      }
    });
  }

  it('large images (resized by sharp) keep the colours of transparent pixels by default: alpha is dropped before the resize', async () => {
    // Fully transparent red: Pillow's convert('RGB') gives red, whatever the later resize.
    const big = await sharp({ create: { width: 120, height: 90, channels: 4, background: { r: 255, g: 0, b: 0, alpha: 0 } } }).png().toBuffer();
    const at = async (alpha?: AlphaMode) => [...(await transformToRgb(new Uint8Array(big), { size: 8, mode: 'eval', alpha })).subarray(0, 3)];
    expect(await at()).toEqual([255, 0, 0]);
    expect(await at('drop')).toEqual([255, 0, 0]);
    expect(await at('white')).toEqual([255, 255, 255]);
    expect(await at('black')).toEqual([0, 0, 0]);
  });
});

const pil = pythonWith(['PIL'], 'apt-get install python3-pil');

describeWith(pil, "alpha: Pillow's convert('RGB') (what OpenCLIP's and torchvision's loaders do)", () => {
  it('RGBA, LA, P with a tRNS alpha table, L with a transparent value: our default gives Pillow’s bytes', async () => {
    // Pillow writes the files and converts them; we decode its files.
    const script = `
import sys, json, io, base64, random
from PIL import Image
random.seed(1)
W = 16
out = []
def emit(im, **save):
    b = io.BytesIO(); im.save(b, 'PNG', **save)
    rgb = Image.open(io.BytesIO(b.getvalue())).convert('RGB')
    out.append({'mode': im.mode, 'png': base64.b64encode(b.getvalue()).decode(), 'rgb': base64.b64encode(rgb.tobytes()).decode()})
im = Image.new('RGBA', (W, W)); im.putdata([(random.randrange(256), random.randrange(256), random.randrange(256), i % 256) for i in range(W * W)]); emit(im)
im = Image.new('LA', (W, W)); im.putdata([(random.randrange(256), i % 256) for i in range(W * W)]); emit(im)
im = Image.new('P', (W, W)); im.putpalette([random.randrange(256) for _ in range(768)]); im.putdata([i % 256 for i in range(W * W)])
emit(im, transparency=bytes(range(0, 256)))
im = Image.new('L', (W, W)); im.putdata([i % 256 for i in range(W * W)]); emit(im, transparency=7)
print(json.dumps(out))
`;
    const files = pil.run<{ mode: string; png: string; rgb: string }[]>(script, null);
    expect(files.map((f) => f.mode)).toEqual(['RGBA', 'LA', 'P', 'L']);
    for (const f of files) {
      const ours = await transformToRgb(new Uint8Array(Buffer.from(f.png, 'base64')), { size: 16, mode: 'eval' });
      expect(Buffer.from(ours).equals(Buffer.from(f.rgb, 'base64')), f.mode).toBe(true);
    }
  });
});
