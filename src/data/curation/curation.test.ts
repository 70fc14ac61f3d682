// Tests for dataset designs: spec validation, caption filters, deterministic/atomic/resumable builds, CLIP filter, stats.
import { describe, it, expect, beforeAll } from 'vitest';
import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { cudaAvailable } from '../../runtime/index.js';
import { ShardWriter } from '../shards/writer.js';
import { syntheticSample } from '../shards/synthetic.js';
import { scene, variant, VARIANTS } from '../../../test/support/scenes.js';
import { mkdirSync } from 'node:fs';
import { listShards } from '../shards/list.js';
import { readShards } from '../shards/reader.js';
import { buildDataset, readManifestSamples, BuildInterrupted, compileCaptionFilter, scoreDataset, datasetStats, loadSpec, resolveCounts, validateSpec, type ClipScorer, type DatasetSpec } from './index.js';

let root = '';

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'cliplab-cur-'));
  const wa = new ShardWriter({ dir: join(root, 'src-a'), shardSize: 20 });
  for (let i = 0; i < 40; i++) {
    const s = await syntheticSample(i, { size: 16, keyPrefix: 'a' });
    if (i % 10 === 3) s.caption = 'фото кота'; // Cyrillic
    if (i % 10 === 5) s.caption = `a photo of a red fox number ${i}`;
    if (i >= 36) s.image = (await syntheticSample(i - 30, { size: 16 })).image; // 4 exact duplicates of a6..a9
    await wa.write(s);
  }
  await wa.close();
  const wb = new ShardWriter({ dir: join(root, 'src-b'), shardSize: 20 });
  for (let i = 0; i < 20; i++) await wb.write(await syntheticSample(i, { size: 16, keyPrefix: 'b', seed: 5, ext: 'jpg' }));
  await wb.close();
});

function specFile(spec: object, name = 'spec.json'): string {
  const f = join(root, name);
  writeFileSync(f, JSON.stringify(spec));
  return f;
}

const base: DatasetSpec = {
  seed: 1,
  total: 30,
  shardSize: 8,
  sources: [
    { name: 'a', path: 'src-a', proportion: 0.6 },
    { name: 'b', path: 'src-b', proportion: 0.4 },
  ],
  filters: { dedup: true, caption: { scripts: ['latin'] } },
};

async function manifestSamples(dir: string) {
  const out = [];
  for await (const x of readManifestSamples(dir)) out.push(x);
  return out;
}

function files(dir: string): Record<string, Buffer> {
  return Object.fromEntries(readdirSync(dir).sort().map((n) => [n, readFileSync(join(dir, n))]));
}

describe('dataset spec', () => {
  it('names the file and key path in errors; accepts YAML', () => {
    expect(() => validateSpec({ seed: 1, sources: [{ name: 'a', path: 'x', count: -1 }] }, 'd.yaml')).toThrow(/^d\.yaml: sources\.0\.count: /);
    expect(() => validateSpec({ seed: 1, sources: [{ name: 'a', path: 'x', proportion: 0.5 }] }, 'd.yaml')).toThrow(/sources\.0\.proportion: a proportion needs `total`/);
    expect(() => validateSpec({ seed: 1, sources: [{ name: 'a', path: 'x' }], filters: { clipScore: { checkpoint: 'c' } } }, 'f')).toThrow(/filters\.clipScore: give exactly one/);
    expect(() => validateSpec({ seed: 1, sources: [{ name: 'a', path: 'x', colour: 1 }] }, 'f')).toThrow(/sources\.0/);
    const y = join(root, 'spec.yaml');
    writeFileSync(y, 'seed: 3\nsources:\n  - name: a\n    path: src-a\n    count: 5\n');
    expect(loadSpec(y).spec.sources[0]!.count).toBe(5);
    writeFileSync(y, 'seed: [\n');
    expect(() => loadSpec(y)).toThrow(/spec\.yaml: not valid YAML/);
  });

  it('resolves proportions by largest remainder', () => {
    const spec = validateSpec({ seed: 0, total: 10, sources: [{ name: 'a', path: 'x', proportion: 1 / 3 }, { name: 'b', path: 'y', proportion: 1 / 3 }, { name: 'c', path: 'z', proportion: 1 / 3 }] }, 's');
    expect(resolveCounts(spec)).toEqual([4, 3, 3]);
  });

  it('caption filters: length, words, script, class mentions', () => {
    const f = compileCaptionFilter({ minLength: 3, maxWords: 6, scripts: ['latin'], mentions: { classes: ['red fox', 'cat'], mode: 'must' } }, root);
    expect(f('a photo of a red fox')).toBeNull();
    expect(f('ab')).toBe('tooShort');
    expect(f('one two three four five six seven cat')).toBe('tooManyWords');
    expect(f('фото кота cat')).toBe('script');
    expect(f('a photo of a redfox')).toBe('mentions');
    expect(f('a Cat!')).toBeNull();
    const g = compileCaptionFilter({ mentions: { classes: ['cat'], mode: 'mustNot' } }, root);
    expect(g('a cat')).toBe('mentions');
    expect(g('a category')).toBeNull();
  });
});

describe('dataset build', () => {
  it('is deterministic: same spec + seed → byte-identical shards and manifest; another seed → another sample', async () => {
    const f = specFile(base);
    const { spec, baseDir } = loadSpec(f);
    const o1 = join(root, 'out1');
    const o2 = join(root, 'out2');
    const r1 = await buildDataset({ spec, baseDir, out: o1 });
    await buildDataset({ spec, baseDir, out: o2 });
    expect(files(o1)).toEqual(files(o2));
    expect(readdirSync(o1).sort()).toEqual(['000000.tar', '000001.tar', '000002.tar', '000003.tar', 'manifest.json', 'removed.jsonl', 'samples.jsonl', 'sizes.json']);
    const m = { ...r1.manifest, samples: await manifestSamples(o1) };
    expect(m.counts).toEqual({ a: 18, b: 12 });
    expect(m.sources[0]!.rejected).toEqual({ script: 4 });
    expect(m.sources[0]!.duplicates).toBe(4);
    expect(m.samples).toHaveLength(30);
    expect(m.samples[0]).toMatchObject({ key: '000000000' });
    // the shards hold what the manifest says, origin recorded in each json
    const recs = [];
    for await (const r of readShards(await listShards(o1))) recs.push(r);
    expect(recs.map((r) => r.key)).toEqual(m.samples.map((s) => s.key));
    expect(recs.map((r) => (r.meta.origin as { key: string }).key)).toEqual(m.samples.map((s) => s.origKey));
    expect(recs.every((r) => !r.caption.includes('фото'))).toBe(true);
    const other = await buildDataset({ spec: { ...spec, seed: 2 }, baseDir, out: join(root, 'out3') });
    expect((await manifestSamples(join(root, 'out3'))).map((s) => s.origKey)).not.toEqual(m.samples.map((s) => s.origKey));
    expect(other.manifest.total).toBe(30);
    // a rerun on a finished build is a no-op; another spec into the same dir is refused
    expect((await buildDataset({ spec, baseDir, out: o1 })).resumed).toBe(true);
    await expect(buildDataset({ spec: { ...spec, seed: 9 }, baseDir, out: o1 })).rejects.toThrow(/another spec/);
    await expect(buildDataset({ spec: { ...spec, total: 100 }, baseDir, out: join(root, 'out4') })).rejects.toThrow(/sources\.0\.proportion: source 'a' needs 60 samples but only 32/);
  });

  it('is atomic and resumable: an interrupted build leaves only whole shards, and a rerun finishes identically', async () => {
    const { spec, baseDir } = loadSpec(specFile(base));
    const ref = join(root, 'out-ref');
    await buildDataset({ spec, baseDir, out: ref });
    const out = join(root, 'out-int');
    const ac = new AbortController();
    await expect(
      buildDataset({ spec, baseDir, out, signal: ac.signal, onShard: (_info, done) => done === 2 && ac.abort() }),
    ).rejects.toBeInstanceOf(BuildInterrupted);
    expect(existsSync(join(out, 'manifest.json'))).toBe(false);
    // a process killed while writing shard 3 leaves a temp file: never listed, never read
    writeFileSync(join(out, '.000002.tar.tmp-999-abcdef'), Buffer.alloc(700, 1));
    expect((await listShards(out)).map((p) => p.slice(out.length + 1))).toEqual(['000000.tar', '000001.tar']);
    const r = await buildDataset({ spec, baseDir, out });
    expect(r.resumed).toBe(true);
    expect(files(out)).toEqual(files(ref));
  });

  it("filters a LAION source on its own similarity and punsafe columns (kept in each sample's json by ingest)", async () => {
    const w = new ShardWriter({ dir: join(root, 'src-laion'), shardSize: 10 });
    const sims = [0.35, 0.2, 0.31, null, 0.4, 0.29, 0.33, 0.36];
    const unsafe = [0.01, 0.0, 0.5, 0.0, null, 0.02, 0.05, 0.09];
    for (let i = 0; i < sims.length; i++) {
      const s = await syntheticSample(i, { size: 16, keyPrefix: 'l' });
      s.meta = { ...s.meta, ...(sims[i] !== null ? { similarity: sims[i] } : {}), ...(unsafe[i] !== null ? { punsafe: unsafe[i] } : {}) };
      await w.write(s);
    }
    await w.close();
    const spec = validateSpec({ seed: 2, sources: [{ name: 'laion', path: 'src-laion', minSimilarity: 0.3, maxPunsafe: 0.1 }] }, 'laion.json');
    const r = await buildDataset({ spec, baseDir: root, out: join(root, 'out-laion') });
    expect(r.manifest.sources[0]!.rejected).toEqual({ lowSimilarity: 2, noSimilarity: 1, unsafe: 1, noPunsafe: 1 });
    expect((await manifestSamples(join(root, 'out-laion'))).map((x) => x.origKey).sort()).toEqual(['l000000', 'l000006', 'l000007']);
    expect(() => validateSpec({ seed: 2, sources: [{ name: 'laion', path: 'x', maxPunsafe: 2 }] }, 'bad.json')).toThrow(/bad\.json: sources\.0\.maxPunsafe/);
  });

  it('filters by CLIP score (top fraction or threshold) with a pluggable scorer and stores clip_score', async () => {
    const calls: number[] = [];
    const fake: ClipScorer = {
      imageSize: 8,
      contextLength: 16,
      async score({ images, text, n }) {
        calls.push(n);
        expect(images.length).toBe(n * 3 * 8 * 8);
        const out = new Float32Array(n);
        for (let i = 0; i < n; i++) out[i] = (Number(text[i * 16 + 1]!) % 97) / 97; // depends on the caption's first token
        return out;
      },
    };
    const spec: DatasetSpec = { seed: 4, shardSize: 50, sources: [{ name: 'b', path: 'src-b' }], filters: { clipScore: { checkpoint: 'fake.ckpt', topFraction: 0.5, batchSize: 7 } } };
    let asked = '';
    const r = await buildDataset({ spec, baseDir: root, out: join(root, 'out-clip'), clipScorerFactory: async (p) => ((asked = p), fake) });
    expect(asked).toBe(join(root, 'fake.ckpt'));
    expect(calls).toEqual([7, 7, 6]);
    expect(r.manifest.total).toBe(10);
    const scores = (await manifestSamples(join(root, 'out-clip'))).map((s) => s.clipScore!);
    const recs = [];
    for await (const x of readShards(await listShards(join(root, 'out-clip')))) recs.push(x);
    expect(recs.map((x) => x.meta.clip_score)).toEqual(scores);
    const t = Math.min(...scores);
    const thr = await buildDataset({ spec: { ...spec, filters: { clipScore: { checkpoint: 'fake.ckpt', threshold: t } } }, baseDir: root, out: join(root, 'out-thr'), clipScorerFactory: async () => fake });
    expect(thr.manifest.total).toBeGreaterThan(0);
    expect((await manifestSamples(join(root, 'out-thr'))).every((s) => s.clipScore! >= t)).toBe(true);
    await expect(buildDataset({ spec, baseDir: root, out: join(root, 'out-none') })).rejects.toThrow(/filters\.clipScore\.checkpoint: no CLIP scorer/);
  });

  it('per-shard score files: dataset score in two chunks, then a build that loads no model writes what an inline-scored build does', async () => {
    const fake = (calls: number[]): ClipScorer => ({
      imageSize: 8,
      contextLength: 16,
      async score({ text, n }) {
        calls.push(n);
        return Float32Array.from({ length: n }, (_, i) => (Number(text[i * 16 + 2]!) % 89) / 89);
      },
    });
    const clip = { checkpoint: 'fake.ckpt', topFraction: 0.5, batchSize: 7 };
    const sources = [{ name: 'a', path: 'src-a' }, { name: 'b', path: 'src-b' }];
    const inline: DatasetSpec = { seed: 2, shardSize: 9, sources, filters: { clipScore: clip } };
    const calls: number[] = [];
    await buildDataset({ spec: inline, baseDir: root, out: join(root, 'out-inline'), clipScorerFactory: async () => fake(calls) });
    expect(calls.reduce((a, b) => a + b, 0)).toBe(60);
    const spec: DatasetSpec = { ...inline, filters: { clipScore: { ...clip, scores: 'scores-x' } } };
    const jobCalls: number[] = [];
    const s0 = await scoreDataset({ spec, baseDir: root, chunk: { index: 0, count: 2 }, clipScorerFactory: async () => fake(jobCalls) });
    const s1 = await scoreDataset({ spec, baseDir: root, chunk: { index: 1, count: 2 }, clipScorerFactory: async () => fake(jobCalls) });
    expect([s0.shards, s0.scored, s0.samples, s1.shards, s1.scored, s1.samples]).toEqual([2, 2, 40, 1, 1, 20]);
    expect(readdirSync(join(root, 'scores-x')).filter((n) => n.endsWith('.json'))).toHaveLength(3);
    expect((await scoreDataset({ spec, baseDir: root, chunk: { index: 0, count: 2 }, clipScorerFactory: async () => fake(jobCalls) })).skipped).toBe(2);
    const noModel = async (): Promise<ClipScorer> => {
      throw new Error('no model needed');
    };
    await buildDataset({ spec, baseDir: root, out: join(root, 'out-files'), clipScorerFactory: noModel });
    const data = (d: string) => Object.fromEntries(Object.entries(files(d)).filter(([n]) => n !== 'manifest.json'));
    expect(data(join(root, 'out-files'))).toEqual(data(join(root, 'out-inline')));
    // other caption filters decide what is scored: the files no longer apply and the build scores again
    const other: DatasetSpec = { ...spec, filters: { ...spec.filters, caption: { minWords: 1 } } };
    await expect(buildDataset({ spec: other, baseDir: root, out: join(root, 'out-files2'), clipScorerFactory: noModel })).rejects.toThrow(/no model needed/);
    await expect(scoreDataset({ spec: inline, baseDir: root })).rejects.toThrow(/filters\.clipScore\.scores: needed by dataset score/);
  });

  it('a build interrupted while scoring resumes without --overwrite and scores only the shards not yet scored', async () => {
    const spec: DatasetSpec = { seed: 5, shardSize: 9, sources: [{ name: 'a', path: 'src-a' }, { name: 'b', path: 'src-b' }], filters: { clipScore: { checkpoint: 'c', threshold: 0.2, batchSize: 7 } } };
    const scorer = (calls: number[], onCall: () => void = () => {}): ClipScorer => ({
      imageSize: 8,
      contextLength: 16,
      async score({ text, n }) {
        calls.push(n);
        onCall();
        return Float32Array.from({ length: n }, (_, i) => (Number(text[i * 16 + 1]!) % 97) / 97);
      },
    });
    await buildDataset({ spec, baseDir: root, out: join(root, 'out-p1-ref'), clipScorerFactory: async () => scorer([]) });
    const ac = new AbortController();
    const first: number[] = [];
    // shard 0 of source a takes calls 1-3 (7 + 7 + 6 samples); abort during shard 1
    const out = join(root, 'out-p1');
    await expect(buildDataset({ spec, baseDir: root, out, signal: ac.signal, clipScorerFactory: async () => scorer(first, () => first.length === 4 && ac.abort()) })).rejects.toBeInstanceOf(BuildInterrupted);
    const again: number[] = [];
    const r = await buildDataset({ spec, baseDir: root, out, clipScorerFactory: async () => scorer(again) });
    expect(r.resumed).toBe(false);
    expect(again).toEqual([7, 7, 6, 7, 7, 6]);
    expect(files(out)).toEqual(files(join(root, 'out-p1-ref')));
  });

  it('dedup against evaluation sets: crops, re-encodes and resizes of an eval image are removed, counted and listed', async () => {
    // Evaluation set: an ImageFolder of 3 scenes. Training shard: every variant of each, 20 unrelated scenes,
    // an exact copy and a re-encode of one unrelated scene.
    const evalDir = join(root, 'eval-folder');
    mkdirSync(join(evalDir, 'cls'), { recursive: true });
    for (const i of [0, 1, 2]) writeFileSync(join(evalDir, 'cls', `${i}.png`), await scene(i));
    const w = new ShardWriter({ dir: join(root, 'web'), shardSize: 100 });
    let n = 0;
    const put = async (image: Buffer, ext: 'png' | 'jpg' | 'webp' = 'png') => w.write({ key: `w${String(n++).padStart(4, '0')}`, image, imageExt: ext, caption: 'a photo', meta: {} });
    for (const i of [0, 1, 2]) for (const v of VARIANTS) await put(await variant(await scene(i), v), v === 'reencode' || v === 'cropResizeReencode' ? 'jpg' : v === 'webp' ? 'webp' : 'png');
    for (let i = 0; i < 20; i++) await put(await scene(500 + i));
    await put(await scene(500)); // exact copy of w0021
    await put(await variant(await scene(501), 'reencode'), 'jpg'); // near copy of w0022
    await w.close();
    const spec: DatasetSpec = { seed: 0, shardSize: 50, sources: [{ name: 'web', path: 'web' }], filters: { dedup: { near: true, against: ['eval-folder'] } } };
    const out = join(root, 'out-decon');
    const r = await buildDataset({ spec, baseDir: root, out });
    const rep = r.manifest.sources[0]!;
    expect(rep.contaminated).toBe(3 * VARIANTS.length);
    expect(rep.duplicates).toBe(1);
    expect(rep.nearDuplicates).toBe(1);
    expect(r.manifest.total).toBe(20);
    expect(r.manifest.removed).toEqual({ file: 'removed.jsonl', count: 3 * VARIANTS.length + 2, evalImages: 3 });
    const removed = readFileSync(join(out, 'removed.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, any>);
    expect(removed).toHaveLength(3 * VARIANTS.length + 2);
    for (const [k, x] of removed.slice(0, 3 * VARIANTS.length).entries()) {
      expect(x).toMatchObject({ source: 'web', key: `w${String(k).padStart(4, '0')}`, reason: 'contaminated', of: { eval: `eval-folder/${join('cls', `${Math.floor(k / VARIANTS.length)}.png`)}` } });
      expect(x.distance).toBeLessThanOrEqual(10);
    }
    expect(removed.at(-2)).toMatchObject({ key: 'w0041', reason: 'duplicate', of: { source: 'web', key: 'w0021' } });
    expect(removed.at(-1)).toMatchObject({ key: 'w0042', reason: 'nearDuplicate', of: { source: 'web', key: 'w0022' } });
    // the plain exact form keeps its meaning: no near copies, no eval sets
    const exact = await buildDataset({ spec: { ...spec, filters: { dedup: true } }, baseDir: root, out: join(root, 'out-exact') });
    expect(exact.manifest.sources[0]).toMatchObject({ duplicates: 1, nearDuplicates: 0, contaminated: 0 });
    await expect(buildDataset({ spec: { ...spec, filters: { dedup: { against: ['nowhere'] } } }, baseDir: root, out: join(root, 'out-x') })).rejects.toThrow(/filters\.dedup\.against\.0: no such evaluation set/);
  });

  it('dedup against an evaluation set given as a shard directory finds the same copies, labelled by key', async () => {
    // The evaluation images of the test above, as WebDataset shards instead of an ImageFolder ('web' is its training shard).
    const w = new ShardWriter({ dir: join(root, 'eval-shards'), shardSize: 2 });
    for (const i of [0, 1, 2]) await w.write({ key: `e${i}`, image: await scene(i), imageExt: 'png', caption: 'eval', meta: {} });
    await w.close();
    const spec: DatasetSpec = { seed: 0, shardSize: 50, sources: [{ name: 'web', path: 'web' }], filters: { dedup: { exact: false, against: ['eval-shards'] } } };
    const out = join(root, 'out-decon-shards');
    const r = await buildDataset({ spec, baseDir: root, out });
    expect(r.manifest.sources[0]).toMatchObject({ contaminated: 3 * VARIANTS.length, duplicates: 0, nearDuplicates: 0 });
    expect(r.manifest.total).toBe(22); // the 20 unrelated scenes and their two copies
    expect(r.manifest.removed).toMatchObject({ count: 3 * VARIANTS.length, evalImages: 3 });
    const removed = readFileSync(join(out, 'removed.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, any>);
    expect(removed.map((x) => x.of.eval)).toEqual([0, 1, 2].flatMap((i) => VARIANTS.map(() => `eval-shards:e${i}`)));
  });

  it('stats: per-source counts, caption and vocabulary statistics, score histogram', async () => {
    const s = await datasetStats(join(root, 'out-clip'), { bins: 4 });
    expect(s.samples).toBe(10);
    expect(s.perSource).toEqual({ b: 10 });
    expect(s.captionWords!.min).toBeGreaterThanOrEqual(3);
    expect(s.vocabulary.types).toBeGreaterThan(3);
    expect(s.clipScore.histogram.reduce((a, h) => a + h.count, 0)).toBe(10);
    const raw = await datasetStats(join(root, 'src-a'));
    expect(raw.perSource).toEqual({ synthetic: 40 });
    expect(raw.clipScore.n).toBe(0);
  });
});

const cli = join(process.cwd(), 'bin', 'cliplab.js');
describe('cliplab dataset (built CLI)', () => {
  // `npm test` builds dist/ first; run `npm run build` before running this file on its own.
  beforeAll(() => {
    if (!existsSync(join(process.cwd(), 'dist', 'cli', 'commands', 'dataset.js'))) throw new Error('dist/ is not built: run npm run build (npm test does)');
  });

  it('builds from a YAML spec, prints stats as JSON, and names the bad key on error', () => {
    const y = join(root, 'cli.yaml');
    writeFileSync(y, 'seed: 7\ntotal: 12\nshardSize: 5\nsources:\n  - name: a\n    path: src-a\n    proportion: 0.5\n  - name: b\n    path: src-b\n    proportion: 0.5\n');
    const out = join(root, 'out-cli');
    const b = spawnSync('node', [cli, '--quiet', 'dataset', 'build', y, '--out', out, '--json'], { encoding: 'utf8' });
    expect(b.status, b.stderr).toBe(0);
    expect(JSON.parse(b.stdout)).toMatchObject({ total: 12, shards: 3, counts: { a: 6, b: 6 } });
    const s = spawnSync('node', [cli, 'dataset', 'stats', out, '--json'], { encoding: 'utf8' });
    expect(s.status, s.stderr).toBe(0);
    expect(JSON.parse(s.stdout).perSource).toEqual({ a: 6, b: 6 });
    writeFileSync(y, 'seed: 7\nsources:\n  - name: a\n    path: src-a\n    count: lots\n');
    const bad = spawnSync('node', [cli, 'dataset', 'build', y, '--out', join(root, 'out-bad')], { encoding: 'utf8' });
    expect(bad.status).not.toBe(0);
    expect(bad.stderr.trim().split('\n')).toHaveLength(1);
    expect(bad.stderr).toMatch(/cli\.yaml: sources\.0\.count/);
  });

  it('build --json and the plain summary report near duplicates and evaluation copies, not only exact ones', () => {
    // 'web' and 'eval-folder' come from the decontamination test above: 3 eval scenes, their variants, 2 copies.
    const y = join(root, 'decon-cli.yaml');
    writeFileSync(y, 'seed: 0\nshardSize: 50\nsources:\n  - name: web\n    path: web\nfilters:\n  dedup:\n    near: true\n    against: [eval-folder]\n');
    const b = spawnSync('node', [cli, '--quiet', 'dataset', 'build', y, '--out', join(root, 'out-decon-cli'), '--json'], { encoding: 'utf8' });
    expect(b.status, b.stderr).toBe(0);
    const summary = JSON.parse(b.stdout) as Record<string, any>;
    expect(summary.sources[0]).toMatchObject({ duplicates: 1, nearDuplicates: 1, contaminated: 3 * VARIANTS.length });
    expect(summary.removed).toMatchObject({ file: 'removed.jsonl', count: 3 * VARIANTS.length + 2 });
    const plain = spawnSync('node', [cli, 'dataset', 'build', y, '--out', join(root, 'out-decon-cli-2')], { encoding: 'utf8' });
    expect(plain.status, plain.stderr).toBe(0);
    expect(plain.stderr).toMatch(new RegExp(`near duplicates 1, evaluation copies ${3 * VARIANTS.length}`));
  });

  it('dataset score: --device cuda without the CUDA provider is one line naming it; a bad --device is refused', async () => {
    const y = join(root, 'score.yaml');
    writeFileSync(y, 'seed: 1\nsources:\n  - name: b\n    path: src-b\nfilters:\n  clipScore:\n    checkpoint: no-such-model\n    preset: laion2b\n    scores: scores-cli\n');
    const cuda = spawnSync('node', [cli, 'dataset', 'score', y, '--device', 'cuda'], { encoding: 'utf8' });
    expect(cuda.status).not.toBe(0);
    if (!(await cudaAvailable())) {
      expect(cuda.stderr.trim().split('\n')).toHaveLength(1);
      expect(cuda.stderr).toMatch(/--device cuda: onnxruntime-node's CUDA provider .* is not installed/);
    }
    const odd = spawnSync('node', [cli, 'dataset', 'score', y, '--device', 'tpu'], { encoding: 'utf8' });
    expect(odd.status).not.toBe(0);
    expect(odd.stderr).toMatch(/--device/);
  });
});
