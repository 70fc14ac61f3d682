// `corruptFolder` on a two-class ImageFolder: the imagenet-c layout, class-name files carried along, the
// 224 centre crop, byte-identical output for a seed, unreadable images skipped and counted.
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseSeverities } from '../data/images/corruptions/index.js';
import { corruptFolder, prepareCrop } from './corrupt-folder.js';

let root: string;
beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'cliplab-corrupt-'));
  for (const [cls, color] of [['cat', { r: 200, g: 30, b: 30 }], ['dog', { r: 30, g: 30, b: 200 }]] as const) {
    mkdirSync(join(root, 'in', cls), { recursive: true });
    await sharp({ create: { width: 300, height: 260, channels: 3, background: color } }).png().toFile(join(root, 'in', cls, 'a.png'));
  }
  writeFileSync(join(root, 'in', 'dog', 'broken.png'), 'not a png');
  writeFileSync(join(root, 'in', 'classnames.json'), JSON.stringify(['a cat', 'a dog']));
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe('corruptFolder', () => {
  it('writes OUT/<corruption>/<severity>/<class>/<name>.jpg at 224×224, the same bytes for the same seed', async () => {
    const run = (out: string, seed: number) => corruptFolder({ input: join(root, 'in'), out: join(root, out), corruptions: ['gaussian_noise', 'contrast'], severities: [1, 3], seed });
    const r = await run('a', 5);
    expect(r.written).toBe(8);
    expect(r.skipped).toHaveLength(1);
    expect(r.skipped[0]!.file).toContain('broken.png');
    expect(r.sets).toEqual(['gaussian_noise/1', 'gaussian_noise/3', 'contrast/1', 'contrast/3']);
    expect(readdirSync(join(root, 'a', 'contrast', '3', 'dog'))).toEqual(['a.jpg']);
    expect(JSON.parse(readFileSync(join(root, 'a', 'contrast', '3', 'classnames.json'), 'utf8'))).toEqual(['a cat', 'a dog']);
    const meta = await sharp(join(root, 'a', 'gaussian_noise', '1', 'cat', 'a.jpg')).metadata();
    expect([meta.width, meta.height, meta.format]).toEqual([224, 224, 'jpeg']);
    await run('b', 5);
    await run('c', 6);
    const file = join('gaussian_noise', '3', 'cat', 'a.jpg');
    expect(readFileSync(join(root, 'b', file)).equals(readFileSync(join(root, 'a', file)))).toBe(true);
    expect(readFileSync(join(root, 'c', file)).equals(readFileSync(join(root, 'a', file)))).toBe(false);
    expect(existsSync(join(root, 'a', 'fog'))).toBe(false);
  });

  it("reads a transparent image as ImageNet-C's maker does (convert('RGB'): its stored colours, not flattened on white)", async () => {
    const dir = join(root, 'clear');
    mkdirSync(join(dir, 'fox'), { recursive: true });
    await sharp({ create: { width: 240, height: 240, channels: 4, background: { r: 210, g: 20, b: 20, alpha: 0 } } }).png().toFile(join(dir, 'fox', 'a.png'));
    await corruptFolder({ input: dir, out: join(root, 'clear-out'), corruptions: ['contrast'], severities: [1], format: 'png' });
    const { data } = await sharp(join(root, 'clear-out', 'contrast', '1', 'fox', 'a.png')).raw().toBuffer({ resolveWithObject: true });
    // Contrast keeps a uniform image uniform (within rounding): red stays red, where white would stay white.
    const [r, g, b] = data.subarray(0, 3);
    expect(Math.abs(r! - 210) <= 1 && Math.abs(g! - 20) <= 1 && Math.abs(b! - 20) <= 1, `${r},${g},${b}`).toBe(true);
  });

  it('names an unknown corruption; parses severity lists', async () => {
    await expect(corruptFolder({ input: join(root, 'in'), out: join(root, 'x'), corruptions: ['smog'] })).rejects.toThrow(/unknown corruption 'smog'/);
    expect(parseSeverities('1-5')).toEqual([1, 2, 3, 4, 5]);
    expect(parseSeverities('5,1-2')).toEqual([1, 2, 5]);
    expect(() => parseSeverities('0-3')).toThrow(/--severities/);
    expect(() => parseSeverities('4-2')).toThrow(/empty range/);
  });

  it('prepares the crop as Resize(256) + CenterCrop(224): short side 256, centred window', () => {
    // A 300×260 image with a column index pattern: after resizing to 295×256 the crop starts at column round(35.5) = 36.
    const w = 300;
    const h = 260;
    const rgb = Uint8Array.from({ length: w * h * 3 }, (_, i) => Math.floor(i / 3) % w % 256);
    const c = prepareCrop(rgb, w, h, 224);
    expect([c.w, c.h, c.rgb.length]).toEqual([224, 224, 224 * 224 * 3]);
    expect(prepareCrop(rgb, w, h, 0).rgb).toBe(rgb);
  });
});
