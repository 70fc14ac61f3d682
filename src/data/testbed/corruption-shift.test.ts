// The testbed's corruption shift: a corrupted copy of the reference eval sets (one benchmark corruption per
// image, one severity), listed in testbed.json as a synthetic shift the testbed suite then evaluates.
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testbedSuite } from '../../eval/suites.js';
import { addCorruptionShift, corruptReference } from './corruption-shift.js';
import { readTestbedManifest } from './manifest.js';

let tb: string;
const set = (name: string, full: boolean) => ({ name, iconSet: 'noto-v1', role: name.startsWith('noto-v1') ? 'reference' : 'shift', kind: 'natural', full, dir: `eval/${name}`, classes: 2, viewsPerClass: 2, images: 4, sha256: 'x' });

beforeAll(async () => {
  tb = mkdtempSync(join(tmpdir(), 'cliplab-tbc-'));
  for (const name of ['noto-v1', 'noto-v1-full', 'other']) {
    for (const [k, dir] of ['1f600', '1f680'].entries()) {
      mkdirSync(join(tb, 'eval', name, dir), { recursive: true });
      for (let v = 0; v < 2; v++)
        await sharp({ create: { width: 32, height: 32, channels: 3, background: { r: 40 + 100 * k, g: 120, b: 200 - 60 * v } } })
          .composite([{ input: Buffer.from('<svg width="32" height="32"><circle cx="16" cy="16" r="9" fill="#fff"/></svg>') }])
          .png()
          .toFile(join(tb, 'eval', name, dir, `${v}.png`));
    }
    writeFileSync(join(tb, 'eval', name, 'classnames.json'), JSON.stringify(['grinning face', 'rocket']));
  }
  writeFileSync(join(tb, 'testbed.json'), JSON.stringify({
    version: 1, generator: 'test', args: { imageSize: 32, misaligned: 0, seed: 0, concepts: 2, views: 1, evalViews: 2, evalViewsFull: 2, shardSize: 10 },
    packages: {}, concepts: [], classes: ['1F600', '1F680'], classSelection: { seed: 0, count: 2, rule: 'test' },
    reference: 'noto-v1', shifts: ['other'], sources: [], eval: [set('noto-v1', false), set('noto-v1-full', true), set('other', false)],
  }));
});
afterAll(() => rmSync(tb, { recursive: true, force: true }));

describe('addCorruptionShift', () => {
  it('writes <reference>-corrupted (+ -full) at the images’ size, lists it as a synthetic shift, deterministically', async () => {
    const added = await addCorruptionShift(tb, { severity: 4, seed: 1 });
    expect(added.map((a) => [a.name, a.kind, a.role, a.images, a.full])).toEqual([['noto-v1-corrupted', 'synthetic', 'shift', 4, false], ['noto-v1-corrupted-full', 'synthetic', 'shift', 4, true]]);
    const m = readTestbedManifest(tb);
    expect(m.shifts).toEqual(['other', 'noto-v1-corrupted']);
    const drawn = JSON.parse(readFileSync(join(tb, 'eval', 'noto-v1-corrupted', 'corruptions.json'), 'utf8')) as { severity: number; images: Record<string, string> };
    expect(drawn.severity).toBe(4);
    expect(Object.keys(drawn.images).sort()).toEqual(['1f600/0.png', '1f600/1.png', '1f680/0.png', '1f680/1.png']);
    const clean = await sharp(join(tb, 'eval', 'noto-v1', '1f600', '0.png')).raw().toBuffer({ resolveWithObject: true });
    const bad = await sharp(join(tb, 'eval', 'noto-v1-corrupted', '1f600', '0.png')).removeAlpha().raw().toBuffer({ resolveWithObject: true });
    expect([bad.info.width, bad.info.height]).toEqual([32, 32]);
    const diff = bad.data.reduce((a, v, i) => a + Math.abs(v - clean.data[i]!), 0) / bad.data.length;
    expect(diff).toBeGreaterThan(1);
    const first = readFileSync(join(tb, 'eval', 'noto-v1-corrupted', '1f680', '1.png'));
    await addCorruptionShift(tb, { severity: 4, seed: 1 });
    expect(readFileSync(join(tb, 'eval', 'noto-v1-corrupted', '1f680', '1.png')).equals(first)).toBe(true);
    expect(readTestbedManifest(tb).eval.filter((e) => e.name === 'noto-v1-corrupted')).toHaveLength(1);
    // The testbed suite evaluates it as a shift with the reference's class names.
    const specs = testbedSuite({ dataRoot: tb });
    const spec = specs.find((s) => s.name === 'noto-v1-corrupted')!;
    expect(spec.reference).toBe(false);
    expect(spec.classes.map((c) => c.name)).toEqual(['grinning face', 'rocket']);
  });

  it('writes the same files with worker threads as inline', async () => {
    const run = async (threads: number) => {
      const added = await corruptReference(tb, readTestbedManifest(tb), { severity: 3, seed: 2 }, undefined, threads);
      return { sets: added.map((a) => a.sha256), drawn: readFileSync(join(tb, 'eval', 'noto-v1-corrupted', 'corruptions.json'), 'utf8') };
    };
    const inline = await run(0);
    expect(Object.keys(JSON.parse(inline.drawn).images as object)).toHaveLength(4);
    expect(await run(2)).toEqual(inline);
  });

  it('rejects a bad severity or corruption', async () => {
    await expect(addCorruptionShift(tb, { severity: 0 })).rejects.toThrow(/--severity/);
    await expect(addCorruptionShift(tb, { corruptions: ['smog'] })).rejects.toThrow(/unknown corruption 'smog'/);
  });
});
