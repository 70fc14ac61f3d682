// Tests for near-duplicate removal by CLIP image-embedding similarity (filters.dedup.clip), on the tiny ViT of
// the golden fixtures run by the model engine: within the dataset, against an evaluation set, spec errors.
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { GOLDEN_DIR } from '../../../test/support/golden.js';
import { scene } from '../../../test/support/scenes.js';
import { loadClipModel } from '../../models/load.js';
import { ClipEncoders } from '../../models/encoders.js';
import { preprocessImage } from '../images/transform.js';
import { CROP_GRID, hammingDistance, perceptualHash, perceptualHashes } from '../images/phash.js';
import { ShardWriter } from '../shards/writer.js';
import { engineClipScorerFactory } from './clip-scorer.js';
import { EmbeddingIndex } from './dedup.js';
import { buildDataset, readManifestSamples, validateSpec, type DatasetSpec } from './index.js';

const MODEL = join(GOLDEN_DIR, 'clip-vit-tiny', 'init.safetensors.gz');
const factory = engineClipScorerFactory({ threads: 1 });
let root = '';
let enc: ClipEncoders;
let imageSize = 0;

/** Cosine similarity of two images' CLIP embeddings, computed here straight from the encoder. */
async function similarity(a: Buffer, b: Buffer): Promise<number> {
  const plane = 3 * imageSize * imageSize;
  const x = new Float32Array(2 * plane);
  await preprocessImage(a, { size: imageSize, mode: 'eval' }, undefined, x, 0);
  await preprocessImage(b, { size: imageSize, mode: 'eval' }, undefined, x, plane);
  const e = await enc.encodeImages(x, 2);
  const d = e.length / 2;
  let ab = 0;
  let aa = 0;
  let bb = 0;
  for (let j = 0; j < d; j++) {
    ab += e[j]! * e[d + j]!;
    aa += e[j]! * e[j]!;
    bb += e[d + j]! * e[d + j]!;
  }
  return ab / Math.sqrt(aa * bb);
}

async function shard(dir: string, images: Buffer[]): Promise<void> {
  const w = new ShardWriter({ dir: join(root, dir), shardSize: 100 });
  for (const [i, image] of images.entries()) await w.write({ key: `k${i}`, image, imageExt: 'png', caption: 'a photo', meta: {} });
  await w.close();
}

const removedLines = (out: string) => readFileSync(join(out, 'removed.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, any>);

async function keptKeys(out: string): Promise<string[]> {
  const keys = [];
  for await (const s of readManifestSamples(out)) keys.push(s.origKey);
  return keys.sort();
}

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'cliplab-clipdedup-'));
  const m = await loadClipModel(MODEL);
  imageSize = m.config.vision_cfg.image_size;
  enc = await ClipEncoders.create(m.config, m.weights, { threads: 1 });
});
afterAll(async () => {
  await enc?.release();
  if (root) rmSync(root, { recursive: true, force: true });
});

describe('dedup by CLIP similarity', () => {
  it('within the dataset: exact copies of an earlier kept image are removed at 0.99, a distinct image is kept', async () => {
    const a = await scene(500);
    const b = await scene(501);
    // batchSize 2: the first copy shares a batch with its original, the second is in the next batch.
    await shard('web', [a, Buffer.from(a), b, Buffer.from(a)]);
    const sAB = await similarity(a, b);
    const sAA = await similarity(a, Buffer.from(a));
    expect(sAB).toBeLessThan(0.99);
    expect(sAA).toBeGreaterThanOrEqual(0.99);
    // exact: false, so that it is the CLIP comparison (not sha256) that finds the copies.
    const spec: DatasetSpec = { seed: 0, shardSize: 10, sources: [{ name: 'web', path: 'web' }], filters: { dedup: { exact: false, clip: { checkpoint: MODEL, minSimilarity: 0.99, batchSize: 2 } } } };
    const out = join(root, 'out-within');
    const r = await buildDataset({ spec, baseDir: root, out, clipScorerFactory: factory });
    expect(r.manifest.sources[0]).toMatchObject({ read: 4, clipDuplicates: 2, clipContaminated: 0, duplicates: 0, nearDuplicates: 0, contaminated: 0 });
    expect(r.manifest.removed).toEqual({ file: 'removed.jsonl', count: 2, evalImages: 0 });
    expect(await keptKeys(out)).toEqual(['k0', 'k2']);
    const removed = removedLines(out);
    expect(removed.map((x) => x.key)).toEqual(['k1', 'k3']);
    for (const x of removed) {
      expect(x).toMatchObject({ source: 'web', reason: 'clipDuplicate', of: { source: 'web', key: 'k0' } });
      expect(x.of.shard).toMatch(/^web\/.*\.tar$/);
      expect(x.similarity).toBeCloseTo(sAA, 4);
    }
    // Below the distinct pair's similarity, the distinct image is removed as well.
    const loose = await buildDataset({ spec: { ...spec, filters: { dedup: { exact: false, clip: { checkpoint: MODEL, minSimilarity: sAB - 0.01 } } } }, baseDir: root, out: join(root, 'out-loose'), clipScorerFactory: factory });
    expect(loose.manifest.sources[0]!.clipDuplicates).toBe(3);
    expect(removedLines(join(root, 'out-loose')).find((x) => x.key === 'k2')!.similarity).toBeCloseTo(sAB, 4);
  });

  it('against an evaluation folder: a mirrored copy the perceptual hash misses is removed, an unrelated image kept', async () => {
    const evalImage = await scene(0);
    mkdirSync(join(root, 'eval', 'cls'), { recursive: true });
    writeFileSync(join(root, 'eval', 'cls', '0.png'), evalImage);
    const mirrored = await sharp(evalImage).flop().png().toBuffer();
    const other = await scene(502);
    await shard('train', [mirrored, other, Buffer.from(evalImage)]);
    // The mirror is farther than the default 10 bits from every crop hash of the evaluation image.
    const mirrorHash = await perceptualHash(mirrored);
    expect(Math.min(...(await perceptualHashes(evalImage, CROP_GRID)).map((h) => hammingDistance(h, mirrorHash)))).toBeGreaterThan(10);
    const sMirror = await similarity(evalImage, mirrored);
    const sOther = await similarity(evalImage, other);
    expect(sMirror).toBeGreaterThanOrEqual(0.99);
    expect(sOther).toBeLessThan(0.99);
    const spec: DatasetSpec = { seed: 0, shardSize: 10, sources: [{ name: 'train', path: 'train' }], filters: { dedup: { exact: false, against: ['eval'], clip: { checkpoint: MODEL, minSimilarity: 0.99 } } } };
    const out = join(root, 'out-against');
    const r = await buildDataset({ spec, baseDir: root, out, clipScorerFactory: factory });
    // The exact copy is caught by the perceptual hash first; adding clip only adds what the hash missed.
    expect(r.manifest.sources[0]).toMatchObject({ contaminated: 1, clipContaminated: 1, clipDuplicates: 0 });
    expect(r.manifest.removed).toEqual({ file: 'removed.jsonl', count: 2, evalImages: 1 });
    expect(await keptKeys(out)).toEqual(['k1']);
    const removed = removedLines(out);
    expect(removed[0]).toMatchObject({ key: 'k0', reason: 'clipContaminated', of: { eval: join('eval', 'cls', '0.png') } });
    expect(removed[0]!.similarity).toBeCloseTo(sMirror, 4);
    expect(removed[1]).toMatchObject({ key: 'k2', reason: 'contaminated', of: { eval: join('eval', 'cls', '0.png') }, distance: 0 });
  });

  it('a threshold outside (0, 1] and a build without a CLIP model are one-line errors naming the key', async () => {
    const spec = (minSimilarity: number) => ({ seed: 0, sources: [{ name: 'a', path: 'x' }], filters: { dedup: { clip: { checkpoint: 'm', minSimilarity } } } });
    for (const bad of [0, -0.5, 1.01]) expect(() => validateSpec(spec(bad), 's.yaml')).toThrow(/^s\.yaml: filters\.dedup\.clip\.minSimilarity: a cosine similarity in \(0, 1\]$/);
    expect(validateSpec(spec(1), 's.yaml').filters!.dedup).toMatchObject({ clip: { minSimilarity: 1 } });
    expect(() => validateSpec({ ...spec(0.9), filters: { dedup: { clip: { minSimilarity: 0.9 } } } }, 's.yaml')).toThrow(/filters\.dedup\.clip\.checkpoint/);
    const s: DatasetSpec = { seed: 0, sources: [{ name: 'web', path: 'web' }], filters: { dedup: { clip: { checkpoint: 'm', minSimilarity: 0.9 } } } };
    await expect(buildDataset({ spec: s, baseDir: root, out: join(root, 'out-nomodel') })).rejects.toThrow(/^spec: filters\.dedup\.clip\.checkpoint: no CLIP model is available/);
  });

  it('holds at most a fixed number of embeddings, and says so in one line', () => {
    const idx = new EmbeddingIndex(2, 'spec: filters.dedup.clip (kept samples)', 2);
    idx.add(Float32Array.of(1, 0));
    idx.add(Float32Array.of(0, 1));
    expect(idx.best(Float32Array.of(0.6, 0.8), 0.7)).toEqual({ index: 1, similarity: 0.8 });
    expect(idx.best(Float32Array.of(0.6, 0.8), 0.81)).toBeNull();
    expect(() => idx.add(Float32Array.of(1, 0))).toThrow(/^spec: filters\.dedup\.clip \(kept samples\): more than 2 embeddings/);
  });
});
