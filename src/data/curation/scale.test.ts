// Tests for the build at scale: the seeded permutation, the radix-select cut, a heap that does not grow with
// the dataset, and resume after SIGKILL.
import { describe, it, expect, beforeAll } from 'vitest';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { ShardWriter } from '../shards/writer.js';
import { CandidateWriter } from './candidates.js';
import { Permutation } from './permutation.js';
import { eligibility, summarizeCut } from './select.js';
import { buildDataset, loadSpec } from './index.js';

const child = join(process.cwd(), 'test', 'support', 'dataset-build-child.ts');
let root = '';

/** n samples of one 4×4 PNG with distinct captions. */
async function generate(dir: string, n: number, shardSize = 1000): Promise<void> {
  const image = new Uint8Array(await sharp({ create: { width: 4, height: 4, channels: 3, background: { r: 9, g: 99, b: 199 } } }).png().toBuffer());
  const w = new ShardWriter({ dir, shardSize });
  for (let i = 0; i < n; i++) await w.write({ key: `g${String(i).padStart(9, '0')}`, image, imageExt: 'png', caption: `sample ${i % 997} of ${i}`, meta: {} });
  await w.close();
}

function runChild(args: string[], node: string[] = []): { status: number | null; signal: NodeJS.Signals | null; out: Record<string, number> | null; stderr: string } {
  const r = spawnSync(process.execPath, [...node, '--import', 'tsx', child, ...args], { encoding: 'utf8' });
  const last = r.stdout.trim().split('\n').at(-1);
  return { status: r.status, signal: r.signal, out: last ? (JSON.parse(last) as Record<string, number>) : null, stderr: r.stderr };
}

beforeAll(() => {
  root = mkdtempSync(join(tmpdir(), 'cliplab-scale-'));
});

describe('Permutation', () => {
  it('is a bijection of [0, n) for every n, a function of the seed, and not the identity', () => {
    for (const n of [1, 2, 3, 4, 5, 17, 1000, 4097, 65537]) {
      const p = new Permutation(n, 7n);
      const seen = new Uint8Array(n);
      for (let i = 0; i < n; i++) seen[p.at(i)]!++;
      expect(seen.every((x) => x === 1)).toBe(true);
    }
    const a = new Permutation(1000, 1n);
    const b = new Permutation(1000, 2n);
    const xs = Array.from({ length: 1000 }, (_, i) => a.at(i));
    expect(Array.from({ length: 1000 }, (_, i) => new Permutation(1000, 1n).at(i))).toEqual(xs);
    expect(Array.from({ length: 1000 }, (_, i) => b.at(i))).not.toEqual(xs);
    expect(xs.filter((x, i) => x === i).length).toBeLessThan(10);
    expect(() => a.at(1000)).toThrow(RangeError);
  });

  it('picks a uniform subset: each index lands below k about k/n of the time', () => {
    const n = 50;
    const k = 10;
    const hits = new Array<number>(n).fill(0);
    for (let s = 0; s < 2000; s++) {
      const p = new Permutation(n, BigInt(s));
      for (let i = 0; i < n; i++) if (p.at(i) < k) hits[i]!++;
    }
    // Binomial(2000, 0.2): mean 400, sd ≈ 17.9; ±5 sd
    for (const h of hits) expect(Math.abs(h - 400)).toBeLessThan(90);
  });
});

describe('summarizeCut', () => {
  it('keeps exactly what a stable sort by score would, ties to the earlier candidate', () => {
    const path = join(root, 'cands.bin');
    const w = new CandidateWriter(path);
    const scores: number[] = [];
    for (let i = 0; i < 5000; i++) {
      // few distinct values (many ties), negative and positive, some NaN
      const s = i % 37 === 0 ? NaN : Math.fround(((i * 7919) % 23) / 11 - 1);
      scores.push(s);
      w.add({ shard: 0, ordinal: i, score: s, keyHash: 0 });
    }
    w.close();
    for (const topFraction of [0.001, 0.3, 0.5, 0.97, 1]) {
      const sum = summarizeCut(path, true, { topFraction });
      const valid = scores.map((s, k) => ({ s, k })).filter((x) => !Number.isNaN(x.s));
      const want = new Set([...valid].sort((a, b) => b.s - a.s || a.k - b.k).slice(0, Math.ceil(topFraction * valid.length)).map((x) => x.k));
      const ok = eligibility(sum.cut);
      const got = new Set(scores.flatMap((s, k) => (ok(s) ? [k] : [])));
      expect(sum.valid).toBe(valid.length);
      expect(sum.eligible).toBe(want.size);
      expect(got).toEqual(want);
    }
    const thr = summarizeCut(path, true, { threshold: 0 });
    expect(thr.eligible).toBe(scores.filter((s) => s >= 0).length);
  });
});

describe('dataset build at scale', () => {
  it('holds no more live heap for 20,000 samples than for 2,000 (pass 1 with CLIP scoring, and pass 3)', async () => {
    const sizes = [2000, 20000];
    const heaps: number[] = [];
    for (const n of sizes) {
      const dir = join(root, `heap-${n}`);
      await generate(join(dir, 'gen'), n);
      writeFileSync(join(dir, 'spec.yaml'), 'seed: 0\nshardSize: 1000\nsources:\n  - name: g\n    path: gen\nfilters:\n  clipScore:\n    checkpoint: stub\n    topFraction: 0.5\n    batchSize: 250\n');
      const r = runChild([join(dir, 'spec.yaml'), join(dir, 'out'), 'probe'], ['--expose-gc']);
      expect(r.status, r.stderr).toBe(0);
      expect(r.out!.total).toBe(n / 2);
      heaps.push(r.out!.maxHeap!);
    }
    // Lists of candidates or picks would cost ≥ 60 bytes a sample: ≥ 1 MB more for the larger build.
    expect(heaps[1]! - heaps[0]!).toBeLessThan(500_000);
  }, 300_000);

  it('a build killed by SIGKILL after an output shard finishes on rerun with the same bytes', async () => {
    const dir = join(root, 'kill');
    await generate(join(dir, 'gen'), 3000, 500);
    writeFileSync(join(dir, 'spec.yaml'), 'seed: 3\nshardSize: 400\nsources:\n  - name: g\n    path: gen\n    count: 2000\n');
    const { spec, baseDir } = loadSpec(join(dir, 'spec.yaml'));
    await buildDataset({ spec, baseDir, out: join(dir, 'ref') });
    const killed = runChild([join(dir, 'spec.yaml'), join(dir, 'out'), 'kill', '2']);
    expect(killed.signal).toBe('SIGKILL');
    expect(readdirSync(join(dir, 'out'))).not.toContain('manifest.json');
    const again = runChild([join(dir, 'spec.yaml'), join(dir, 'out'), 'kill', '-1']);
    expect(again.status, again.stderr).toBe(0);
    expect(again.out!.resumed).toBe(true);
    const files = (d: string) => Object.fromEntries(readdirSync(d).filter((n) => !n.startsWith('.')).sort().map((n) => [n, createHash('sha256').update(readFileSync(join(d, n))).digest('hex')]));
    expect(files(join(dir, 'out'))).toEqual(files(join(dir, 'ref')));
  }, 120_000);
});
