// What a dataset build lets through: an unfiltered build (no dedup, no CLIP score, nothing that decodes) leaves
// out images that are not whole (garbage bytes, a JPEG, PNG or WebP cut short) and counts them; a good image in
// every format passes.
import { cpSync, mkdtempSync, truncateSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { buildDataset } from '../../src/data/curation/build.js';
import { scoreDataset } from '../../src/data/curation/score-dataset.js';
import type { ClipScorer } from '../../src/data/curation/clip-score.js';
import { validateSpec } from '../../src/data/curation/spec.js';
import { brokenImage } from '../../src/data/images/header.js';
import { readShards } from '../../src/data/shards/reader.js';
import { ShardWriter } from '../../src/data/shards/writer.js';
import { syntheticImage, syntheticSample } from '../../src/data/shards/synthetic.js';

const root = mkdtempSync(join(tmpdir(), 'cliplab-build-rel-'));
const src = join(root, 'src');
const BAD = new Map<string, string>();
const ALL: string[] = [];

beforeAll(async () => {
  const w = new ShardWriter({ dir: src, shardSize: 8 });
  for (let i = 0; i < 12; i++) {
    const s = await syntheticSample(i, { size: 32, ext: (['png', 'jpg', 'webp'] as const)[i % 3] });
    const half = (b: Uint8Array) => b.subarray(0, Math.floor(b.length / 2));
    if (i === 1) s.image = Buffer.from('<html>404 not found</html>');
    if (i === 4) s.image = half(s.image); // jpg
    if (i === 6) s.image = half(s.image); // png
    if (i === 8) s.image = half(s.image); // webp
    ALL.push(s.key);
    if ([1, 4, 6, 8].includes(i)) BAD.set(s.key, brokenImage(s.image)!);
    await w.write(s);
  }
  await w.close();
}, 60_000);

describe('brokenImage', () => {
  it('passes whole images of every format and names what is wrong with the rest', async () => {
    for (const ext of ['png', 'jpg', 'webp'] as const) expect(brokenImage(await syntheticImage(3, { size: 32, ext })), ext).toBeNull();
    expect([...BAD.values()]).toEqual([
      'not a PNG, JPEG, WebP, GIF, TIFF or AVIF image',
      expect.stringMatching(/^JPEG (cut short|without a frame header)/),
      'PNG cut short (no IEND chunk)',
      expect.stringMatching(/^WebP cut short \(\d+ of \d+ bytes\)$/),
    ]);
  });
});

describe('an unfiltered dataset build', () => {
  it('does not copy broken images into its output; it counts them', async () => {
    const spec = validateSpec({ seed: 0, shardSize: 4, sources: [{ name: 'a', path: 'src' }] }, 'spec');
    const out = join(root, 'out');
    const { manifest } = await buildDataset({ spec, baseDir: root, out });
    expect(manifest.sources[0]).toMatchObject({ read: 12, corruptImages: 4, selected: 8 });
    const keys: string[] = [];
    for await (const r of readShards(manifest.shards.map((s) => join(out, s.file)))) {
      expect(brokenImage(r.image), r.key).toBeNull();
      keys.push(String(r.meta.origin && (r.meta.origin as { key: string }).key));
    }
    expect(keys.sort()).toEqual(ALL.filter((k) => !BAD.has(k)).sort());
  });

  it('asked for every sample, it says how many pass instead of padding with broken ones', async () => {
    const spec = validateSpec({ seed: 0, sources: [{ name: 'a', path: 'src', count: 12 }] }, 'spec');
    await expect(buildDataset({ spec, baseDir: root, out: join(root, 'out-all') })).rejects.toThrow("source 'a' needs 12 samples but only 8 of 12 pass the filters");
  });
});

describe('a rerun checks its input shards by content', () => {
  it('a finished or unfinished build whose source shard was replaced under the same name is refused', async () => {
    const input = join(root, 'rerun-src');
    const write = async (offset: number) => {
      const w = new ShardWriter({ dir: input, shardSize: 4 });
      for (let i = 0; i < 8; i++) await w.write(await syntheticSample(i + offset, { size: 16 }));
      await w.close();
    };
    await write(0);
    const spec = validateSpec({ seed: 0, shardSize: 2, sources: [{ name: 'a', path: 'rerun-src' }] }, 'spec');
    const done = join(root, 'rerun-done');
    const first = await buildDataset({ spec, baseDir: root, out: done });
    expect((await buildDataset({ spec, baseDir: root, out: done })).resumed).toBe(true);
    const seed1 = validateSpec({ seed: 1, shardSize: 2, sources: [{ name: 'a', path: 'rerun-src' }] }, 'spec');
    await expect(buildDataset({ spec: seed1, baseDir: root, out: done })).rejects.toThrow(`${done}: holds a dataset built from another spec (use --overwrite or another --out)`);
    const half = join(root, 'rerun-half');
    await expect(buildDataset({ spec, baseDir: root, out: half, onShard: () => { throw new Error('stop'); } })).rejects.toThrow('stop');

    await write(100); // same names, other samples
    await expect(buildDataset({ spec, baseDir: root, out: done })).rejects.toThrow(
      new RegExp(`^${done}: holds a dataset built from other input shards \\(${join(input, '000000.tar')} has sha256 [0-9a-f]{12}…, was [0-9a-f]{12}…\\) \\(use --overwrite or another --out\\)$`),
    );
    await expect(buildDataset({ spec, baseDir: root, out: half })).rejects.toThrow(`${half}: is not empty and holds no unfinished build of this spec`);
    const again = await buildDataset({ spec, baseDir: root, out: done, overwrite: true });
    expect(again.manifest.specHash).not.toBe(first.manifest.specHash);
    expect(again.manifest.inputs.map((d) => d.path)).toEqual([join(input, '000000.tar'), join(input, '000001.tar')]);
  });
});

describe('dataset score reruns check the shards by content', () => {
  it('a shard replaced under the same name is scored again, not served its old scores', async () => {
    const input = join(root, 'score-src');
    const write = async (offset: number) => {
      const w = new ShardWriter({ dir: input, shardSize: 4 });
      for (let i = 0; i < 8; i++) await w.write(await syntheticSample(i + offset, { size: 16 }));
      await w.close();
    };
    await write(0);
    let calls = 0;
    const stub: ClipScorer = { imageSize: 4, contextLength: 8, score: async ({ n }) => (calls++, new Float32Array(n).fill(0.5)) };
    const spec = validateSpec({ seed: 0, sources: [{ name: 'a', path: 'score-src' }], filters: { clipScore: { checkpoint: 'stub', threshold: 0.1, scores: 'scores' } } }, 'spec');
    const o = { spec, baseDir: root, clipScorerFactory: async () => stub };
    expect(await scoreDataset(o)).toMatchObject({ shards: 2, scored: 2, skipped: 0 });
    expect(await scoreDataset(o)).toMatchObject({ scored: 0, skipped: 2 });
    await write(0); // rewritten, same bytes: still the same content
    expect(await scoreDataset(o)).toMatchObject({ scored: 0, skipped: 2 });
    await write(200); // same names, other samples
    const before = calls;
    expect(await scoreDataset(o)).toMatchObject({ scored: 2, skipped: 0 });
    expect(calls).toBeGreaterThan(before);
  });
});

describe('a dataset build checks that its sources are complete', () => {
  it('refuses a half-built dataset or a shard cut short as a source, naming it', async () => {
    const half = join(root, 'half-source');
    const spec = validateSpec({ seed: 0, shardSize: 4, sources: [{ name: 'a', path: 'src' }] }, 'spec');
    await expect(buildDataset({ spec, baseDir: root, out: half, onShard: () => { throw new Error('stop'); } })).rejects.toThrow('stop');
    const fromHalf = validateSpec({ seed: 0, sources: [{ name: 'h', path: 'half-source' }] }, 'spec');
    await expect(buildDataset({ spec: fromHalf, baseDir: root, out: join(root, 'from-half') })).rejects.toThrow(`${half}: holds an unfinished dataset build (.build/ and no manifest.json)`);
    const cut = join(root, 'cut-source');
    cpSync(src, cut, { recursive: true });
    truncateSync(join(cut, '000001.tar'), 1000);
    const fromCut = validateSpec({ seed: 0, sources: [{ name: 'c', path: 'cut-source' }] }, 'spec');
    await expect(buildDataset({ spec: fromCut, baseDir: root, out: join(root, 'from-cut') })).rejects.toThrow(`${join(cut, '000001.tar')}: truncated tar shard (1000 bytes, not a whole number of 512-byte blocks)`);
  });
});
