// Tests for the loader: fixed batches, epoch coverage, seeded order, source proportions, exact resume, threads.
import { describe, it, expect, beforeAll } from 'vitest';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ShardWriter } from '../shards/writer.js';
import { syntheticSample } from '../shards/synthetic.js';
import { preprocessImage } from '../images/transform.js';
import { openLoader, parseDataPosition, type Batch, type LoaderOptions } from './index.js';

let a = '';
let b = '';

beforeAll(async () => {
  const root = mkdtempSync(join(tmpdir(), 'cliplab-loader-'));
  a = join(root, 'a');
  b = join(root, 'b');
  const wa = new ShardWriter({ dir: a, shardSize: 10 });
  for (let i = 0; i < 30; i++) {
    const s = await syntheticSample(i, { size: 24, keyPrefix: 'a', width: 24 + (i % 5) * 4 });
    if (i === 13) s.image = s.image.slice(0, 40); // corrupt image: skipped and counted
    await wa.write(s);
  }
  await wa.close();
  const wb = new ShardWriter({ dir: b, shardSize: 10 });
  for (let i = 0; i < 8; i++) await wb.write(await syntheticSample(i, { size: 24, keyPrefix: 'b', ext: 'jpg', seed: 9 }));
  await wb.close();
});

async function take(opts: LoaderOptions, n: number): Promise<Batch[]> {
  const loader = await openLoader(opts);
  try {
    const out: Batch[] = [];
    for (let i = 0; i < n; i++) out.push((await loader.next())!);
    return out;
  } finally {
    await loader.close();
  }
}

function same(x: Batch, y: Batch): void {
  expect(y.keys).toEqual(x.keys);
  expect(Buffer.from(y.images.buffer).equals(Buffer.from(x.images.buffer))).toBe(true);
  expect(Buffer.from(y.text.buffer).equals(Buffer.from(x.text.buffer))).toBe(true);
}

describe('loader', () => {
  it('gives fixed-size batches covering each epoch once, skipping a corrupt image', async () => {
    const loader = await openLoader({ sources: [{ path: a }], batchSize: 5, imageSize: 16, contextLength: 12, seed: 3, threads: 0, shuffleBuffer: 8 });
    const batches: Batch[] = [];
    for (let i = 0; i < 7; i++) batches.push((await loader.next())!);
    await loader.close();
    expect(batches[0]!.images.length).toBe(5 * 3 * 16 * 16);
    expect(batches[0]!.text.length).toBe(5 * 12);
    expect(batches[0]!.text[0]).toBe(49406n);
    const keys = batches.flatMap((x) => x.keys);
    const epoch0 = keys.slice(0, 29);
    expect(new Set(epoch0).size).toBe(29);
    expect(epoch0).not.toContain('a000013');
    expect(epoch0).not.toEqual([...epoch0].sort()); // shuffled
    expect(loader.stats.corruptImages).toBe(1);
    const p = batches[6]!.position;
    expect(p.batches).toBe(7);
    expect(p.samples).toBe(35);
    expect(p.sources[0]).toMatchObject({ epoch: 1, consumed: 6 }) // 30 records in epoch 0 (one corrupt), 6 in epoch 1;
  });

  it('orders by seed: same seed same batches, different seed different order', async () => {
    const base = { sources: [{ path: a }], batchSize: 6, imageSize: 8, threads: 0 };
    const [x] = await take({ ...base, seed: 1 }, 1);
    const [y] = await take({ ...base, seed: 1 }, 1);
    const [z] = await take({ ...base, seed: 2 }, 1);
    same(x!, y!);
    expect(z!.keys).not.toEqual(x!.keys);
  });

  it('mixes sources by proportion and resumes exactly from a saved position (threads or not)', async () => {
    const opts: LoaderOptions = { sources: [{ path: a, weight: 3 }, { path: b, weight: 1 }], batchSize: 8, imageSize: 16, seed: 11, threads: 0, shuffleBuffer: 6 };
    const full = await take(opts, 12);
    const fromB = full.flatMap((x) => x.sources).filter((s) => s === 1).length / (12 * 8);
    expect(fromB).toBeGreaterThan(0.12);
    expect(fromB).toBeLessThan(0.4);
    const first = await take({ ...opts, threads: 2 }, 5);
    for (let i = 0; i < 5; i++) same(full[i]!, first[i]!);
    const saved = parseDataPosition(JSON.parse(JSON.stringify(first[4]!.position)));
    const rest = await take({ ...opts, threads: 2, position: saved }, 7);
    for (let i = 0; i < 7; i++) same(full[5 + i]!, rest[i]!);
    expect(rest[6]!.position).toEqual(full[11]!.position);
  });

  it('refuses a position from another configuration', async () => {
    const [x] = await take({ sources: [{ path: a }], batchSize: 4, imageSize: 8, threads: 0 }, 1);
    await expect(openLoader({ sources: [{ path: a }], batchSize: 5, imageSize: 8, threads: 0, position: x!.position })).rejects.toThrow(/batch size/);
  });

  it('eval mode with loop false: one pass in shard order, short last batch', async () => {
    const loader = await openLoader({ sources: [{ path: b }], batchSize: 3, imageSize: 8, mode: 'eval', loop: false, threads: 0 });
    const sizes: number[] = [];
    const keys: string[] = [];
    for await (const batch of loader) {
      sizes.push(batch.n);
      keys.push(...batch.keys);
    }
    await loader.close();
    expect(sizes).toEqual([3, 3, 2]);
    expect(keys).toEqual(Array.from({ length: 8 }, (_, i) => `b${String(i).padStart(6, '0')}`));
  });

  it('writes into given buffers the batches it would allocate, views for a short last batch, and refuses wrong sizes', async () => {
    const opts: LoaderOptions = { sources: [{ path: b }], batchSize: 3, imageSize: 8, contextLength: 10, mode: 'eval', loop: false, threads: 0 };
    const plain = await take(opts, 3);
    const loader = await openLoader(opts);
    try {
      const into = { images: new Float32Array(3 * 3 * 8 * 8), text: new BigInt64Array(3 * 10) };
      for (const [i, want] of plain.entries()) {
        const got = (await loader.next(into))!;
        expect(got.images.buffer).toBe(into.images.buffer);
        expect(got.keys).toEqual(want.keys);
        expect(Array.from(got.images)).toEqual(Array.from(want.images));
        expect(Array.from(got.text)).toEqual(Array.from(want.text));
        expect(got.images.length).toBe(i < 2 ? 3 * 192 : 2 * 192); // 8 samples: 3, 3, 2
      }
      await expect(loader.next({ images: new Float32Array(5), text: new BigInt64Array(30) })).rejects.toThrow(/576 image values/);
    } finally {
      await loader.close();
    }
  });
});

describe('loader: transparent images', () => {
  it('decodes as its alpha option says (stored colours by default), in worker threads too', async () => {
    const dir = join(mkdtempSync(join(tmpdir(), 'cliplab-loader-alpha-')), 'c');
    const w = new ShardWriter({ dir, shardSize: 10 });
    const samples = [];
    for (let i = 0; i < 3; i++) samples.push(await syntheticSample(i, { size: 8, keyPrefix: 'c', alpha: true }));
    for (const s of samples) await w.write(s);
    await w.close();
    const plane = 3 * 8 * 8;
    for (const [alpha, threads] of [[undefined, 0], ['white', 0], ['black', 1]] as const) {
      const [batch] = await take({ sources: [{ path: dir }], batchSize: 3, imageSize: 8, mode: 'eval', loop: false, threads, alpha }, 1);
      for (const [i, s] of samples.entries()) {
        const want = await preprocessImage(s.image, { size: 8, mode: 'eval', alpha: alpha ?? 'drop' });
        expect(Buffer.from(batch!.images.slice(i * plane, (i + 1) * plane).buffer).equals(Buffer.from(want.buffer)), `${alpha} ${i}`).toBe(true);
      }
    }
    // The modes do differ on these (half-transparent) images.
    const img = samples[0]!.image;
    const views = await Promise.all((['drop', 'white', 'black'] as const).map((alpha) => preprocessImage(img, { size: 8, mode: 'eval', alpha })));
    expect(new Set(views.map((v) => Buffer.from(v.buffer).toString('base64'))).size).toBe(3);
  });
});
