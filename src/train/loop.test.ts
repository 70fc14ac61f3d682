// trainClip end to end on a tiny testbed (ViT-Nano-8-32): loss falls and zero-shot beats chance, an interrupted
// run resumed equals an uninterrupted one, fine-tuning (cliplab checkpoint, golden OpenCLIP init, locked tower),
// every bad input fails before training, and a diverging run stops keeping its last good checkpoint.
import { describe, it, expect, beforeAll } from 'vitest';
import { existsSync, mkdtempSync, readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildTestbed, readTestbedManifest } from '../data/testbed/index.js';
import { ShardWriter } from '../data/shards/writer.js';
import { syntheticSample } from '../data/shards/synthetic.js';
import { readSafetensors } from '../models/safetensors.js';
import { loadClipModel } from '../models/load.js';
import { trainClip, NonFiniteLossError, type TrainOptions } from './loop.js';
import { evaluateZeroShot } from '../eval/zeroshot-eval.js';
import { cosineLr } from './schedule.js';
import { golden } from '../../test/support/golden.js';

const GOLDEN = golden('clip-vit-tiny');
const MODEL = 'ViT-Nano-8-32';
let root = '';
let tb = '';
let sources: string[] = [];

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'cliplab-train-'));
  tb = join(root, 'tb');
  await buildTestbed({ out: tb, concepts: 10, views: 3, imageSize: 32, evalViews: 5, evalViewsFull: 1 });
  sources = ['emoji-shaded', 'emoji-flat', 'line-icons', 'glyph-icons', 'color-icons'].map((s) => join(tb, 'sources', s));
}, 120_000);

const base = (out: string, extra: Partial<TrainOptions> = {}): TrainOptions => ({
  data: sources.slice(0, 2),
  model: MODEL,
  out: join(root, out),
  batchSize: 16,
  epochs: 2,
  lr: 1e-3,
  threads: 1,
  workers: 1,
  ...extra,
});

const readLog = (run: string) => readFileSync(join(run, 'log.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { step: number; loss: number });

async function maxDiff(a: string, b: string): Promise<number> {
  const [x, y] = [await readSafetensors(a), await readSafetensors(b)];
  expect([...y.tensors.keys()]).toEqual([...x.tensors.keys()]);
  let worst = 0;
  for (const [k, t] of x.tensors) {
    const u = y.tensors.get(k)!.data as Float32Array;
    (t.data as Float32Array).forEach((v, i) => (worst = Math.max(worst, Math.abs(v - u[i]!))));
  }
  return worst;
}

describe('cosineLr', () => {
  it("follows OpenCLIP's cosine_lr: linear warmup from lr/warmup, then half a cosine", () => {
    expect(cosineLr(1, 4, 10, 0)).toBeCloseTo(0.25);
    expect(cosineLr(1, 4, 10, 3)).toBeCloseTo(1);
    expect(cosineLr(1, 4, 10, 4)).toBeCloseTo(1);
    expect(cosineLr(1, 4, 10, 7)).toBeCloseTo(0.5);
    expect(cosineLr(1, 0, 10, 9)).toBeCloseTo(0.5 * (1 + Math.cos((Math.PI * 9) / 10)));
  });
});

describe('trainClip', () => {
  it('reduces the loss and beats chance zero-shot on the held-out reference set', async () => {
    const data = sources.slice(0, 2);
    const r = await trainClip(base('learn', { data, batchSize: 16, epochs: 12, lr: 1e-3, warmup: 5, cropScale: [0.6, 1], threads: undefined }));
    const pairs = readTestbedManifest(tb).sources.filter((s) => data.includes(join(tb, s.dir))).reduce((a, s) => a + s.samples, 0);
    expect(r.steps).toBe(12 * Math.ceil(pairs / 16));
    const log = readLog(r.run);
    const mean = (xs: { loss: number }[]) => xs.reduce((a, b) => a + b.loss, 0) / xs.length;
    expect(mean(log.slice(-10))).toBeLessThan(mean(log.slice(0, 10)) - 0.5);
    const [zs] = (await evaluateZeroShot({ model: r.run, imagefolder: join(tb, 'eval', 'noto-v1') })).results;
    // 10 classes × 5 views (chance 0.10).
    expect(zs!.n).toBe(50);
    expect(zs!.metrics.acc1).toBeGreaterThanOrEqual(0.2);
    const summary = JSON.parse(readFileSync(join(r.run, 'summary.json'), 'utf8'));
    expect(summary).toMatchObject({ steps: r.steps, samples_seen: r.samples_seen, seed: 0, data });
    for (const f of ['config.json', 'params.json', 'checkpoints/latest.safetensors', 'checkpoints/epoch_12.safetensors'])
      expect(existsSync(join(r.run, f)), f).toBe(true);
  });

  it('resumed after an interruption, ends with the weights of an uninterrupted run', async () => {
    const full = await trainClip(base('full'));
    const part = await trainClip(base('part', { stopAfterStep: 3, checkpointEvery: 0 }));
    expect(part.stopped).toBe(true);
    expect(part.model).toBeNull();
    const ck = await readSafetensors(join(part.run, 'checkpoints', 'latest.safetensors'));
    expect(ck.metadata['trainer.step']).toBe('3');
    expect(ck.tensors.has('adamw.m.visual.conv1.weight')).toBe(true);
    const resumed = await trainClip({ out: part.run, resume: true, threads: 1 });
    expect(resumed.steps).toBe(full.steps);
    expect(resumed.samples_seen).toBe(full.samples_seen);
    expect(await maxDiff(full.model!, resumed.model!)).toBeLessThan(1e-5);
    expect(readLog(part.run).map((l) => l.step)).toEqual(readLog(full.run).map((l) => l.step));
  });

  it("trains the same weights bit for bit with ORT's arena off (--no-arena changes memory only)", async () => {
    const on = await trainClip(base('arena-on', { epochs: 1 }));
    const off = await trainClip(base('arena-off', { epochs: 1, cpuArena: false }));
    expect(await maxDiff(on.model!, off.model!)).toBe(0);
    const params = (run: string) => JSON.parse(readFileSync(join(run, 'params.json'), 'utf8')) as { cpu_arena: boolean };
    expect([params(on.run).cpu_arena, params(off.run).cpu_arena]).toEqual([true, false]);
  });

  it('accumulates gradients over --accum-steps batches: steps count k·b samples, a resumed run matches, k is kept', async () => {
    const opts = { batchSize: 8, accumSteps: 2, epochs: 1 };
    const full = await trainClip(base('accum-full', opts));
    const pairs = readTestbedManifest(tb).sources.filter((s) => base('x').data!.includes(join(tb, s.dir))).reduce((a, s) => a + s.samples, 0);
    expect(full.steps).toBe(Math.ceil(pairs / 16));
    expect(full.samples_seen).toBe(full.steps * 16);
    expect(JSON.parse(readFileSync(join(full.run, 'params.json'), 'utf8'))).toMatchObject({ batch_size: 8, accum_steps: 2 });
    const part = await trainClip(base('accum-part', { ...opts, stopAfterStep: 2, checkpointEvery: 0 }));
    expect(part.samples_seen).toBe(32);
    await expect(trainClip({ out: part.run, resume: true, accumSteps: 3 })).rejects.toThrow(/accum_steps was 2 in this run, now 3/);
    const resumed = await trainClip({ out: part.run, resume: true, threads: 1 });
    expect(resumed.steps).toBe(full.steps);
    expect(await maxDiff(full.model!, resumed.model!)).toBeLessThan(1e-5);
  });

  it('fine-tunes from a cliplab checkpoint, with a locked image tower', async () => {
    const first = await trainClip(base('ft-src', { epochs: 1 }));
    const ckpt = join(first.run, 'checkpoints', 'epoch_1.safetensors');
    const r = await trainClip(base('ft', { init: ckpt, model: undefined, lockImage: true, epochs: 1 }));
    const before = await loadClipModel(ckpt);
    const after = await loadClipModel(r.run);
    expect(after.weights.get('visual.conv1.weight')).toEqual(before.weights.get('visual.conv1.weight'));
    expect(after.weights.get('text_projection')).not.toEqual(before.weights.get('text_projection'));
    const params = JSON.parse(readFileSync(join(r.run, 'params.json'), 'utf8'));
    expect(params).toMatchObject({ lock_image: true, init: ckpt });
  });

  it("fine-tunes from the golden OpenCLIP init (OpenCLIP's names)", async () => {
    const golden = join(GOLDEN, 'init.safetensors.gz');
    const r = await trainClip(base('ft-golden', { init: golden, model: 'ViT-Tiny-8-64', epochs: 1, batchSize: 8, data: sources.slice(0, 1) }));
    expect(Number.isFinite(r.final_loss)).toBe(true);
    const init = await loadClipModel(golden, join(GOLDEN, 'config.json'));
    const after = await loadClipModel(r.run);
    expect(after.weights.get('visual.proj')!.length).toBe(init.weights.get('visual.proj')!.length);
    expect(after.weights.get('visual.proj')).not.toEqual(init.weights.get('visual.proj'));
  });

  it('rejects bad input before training, naming the problem', async () => {
    const empty = join(root, 'no-usable');
    const w = new ShardWriter({ dir: empty, shardSize: 10 });
    for (let i = 0; i < 3; i++) {
      const s = await syntheticSample(i, { size: 16 });
      s.image = s.image.slice(0, 30);
      await w.write(s);
    }
    await w.close();
    mkdirSync(join(root, 'bad-cfg'), { recursive: true });
    writeFileSync(join(root, 'bad-cfg', 'x.json'), '{"embed_dim": 32, "vision_cfg": {"widht": 32}}');
    const pairs = readTestbedManifest(tb).sources.filter((s) => base('x').data!.includes(join(tb, s.dir))).reduce((a, s) => a + s.samples, 0);
    const cases: [Partial<TrainOptions>, RegExp][] = [
      [{ data: [join(root, 'missing')] }, /missing: data directory not found/],
      [{ data: [empty] }, /no-usable: no usable sample in 1 shard/],
      [{ model: 'ViT-Nope' }, /ViT-Nope: unknown model config/],
      [{ model: join(root, 'bad-cfg', 'x.json') }, /x\.json: vision_cfg\.widht: unknown key/],
      [{ batchSize: 1000 }, new RegExp(`--batch-size: 1000 is larger than the dataset \\(${pairs} samples`)],
      [{ init: join(GOLDEN, 'init.safetensors.gz') }, /--init .*init\.safetensors\.gz: does not match --model ViT-Nano-8-32: 24 unexpected key\(s\) not in the model: transformer.resblocks.1/],
      [{ proportions: [1] }, /--proportions: 1 proportion\(s\) for 2 data source\(s\)/],
      [{ lr: -1 }, /--lr/],
    ];
    for (const [extra, msg] of cases) {
      const out = join(root, `bad-${Math.random().toString(36).slice(2)}`);
      await expect(trainClip(base('x', { ...extra, out })), String(msg)).rejects.toThrow(msg);
      expect(existsSync(join(out, 'log.jsonl'))).toBe(false);
    }
    const done = await trainClip(base('done', { stopAfterStep: 1 }));
    await expect(trainClip(base('done'))).rejects.toThrow(/already holds a training run/);
    await expect(trainClip({ out: done.run, resume: true, batchSize: 8 })).rejects.toThrow(/batch_size was 16 in this run, now 8/);
  });

  it('stops on a non-finite loss and keeps the last good checkpoint', async () => {
    const opts = base('nan', { lr: 1e30, warmup: 0, weightDecay: 0, checkpointEvery: 1 });
    const err = await trainClip(opts).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(NonFiniteLossError);
    expect((err as Error).message).toMatch(/loss is (NaN|-?Infinity) at step \d+.*last good checkpoint is .*latest\.safetensors/);
    const ck = await readSafetensors(join(opts.out, 'checkpoints', 'latest.safetensors'));
    const step = Number(ck.metadata['trainer.step']);
    expect(step).toBeGreaterThanOrEqual(1);
    for (const [k, t] of ck.tensors) if (t.dtype === 'F32') expect((t.data as Float32Array).every(Number.isFinite), k).toBe(true);
    expect(existsSync(join(opts.out, 'model.safetensors'))).toBe(false);
  });
});
