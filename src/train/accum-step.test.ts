// Gradient accumulation: K micro-batches of B give the same AdamW steps as one batch of K·B (OpenCLIP's
// --accum-freq semantics), with logit_scale's gradient summed K times as OpenCLIP's loop sums it.
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { loadModelConfig } from '../models/config.js';
import { initClip } from '../models/clip.js';
import { scalarFeeds } from '../nn/step-runner.js';
import { adamwScalars, stateName } from '../nn/adamw.js';
import { Rng } from '../util/rng.js';
import { buildTrainGraph } from './train-graph.js';
import { TrainStepRunner } from './train-step.js';
import { AccumStepRunner, buildAccumGraphs, type MicroBatch } from './accum-step.js';

const cfg = loadModelConfig('ViT-Nano-8-32');
const K = 3;
const B = 4;
const adamw = { beta1: 0.9, beta2: 0.98, eps: 1e-6, weightDecay: 0.2 };
const S = cfg.vision_cfg.image_size;
const C = cfg.text_cfg.context_length;

function randomBatch(rng: Rng, n: number): MicroBatch {
  const images = Float32Array.from({ length: n * 3 * S * S }, () => rng.normal());
  const text = new BigInt64Array(n * C);
  for (let i = 0; i < n; i++) {
    const end = 2 + rng.int(C - 2);
    text[i * C] = 49406n;
    for (let j = 1; j < end; j++) text[i * C + j] = BigInt(1 + rng.int(400));
    text[i * C + end] = 49407n;
  }
  return { images, text };
}

/** Micro-batch j of a big batch: rows j·B .. (j+1)·B. */
function split(big: MicroBatch): MicroBatch[] {
  return Array.from({ length: K }, (_, j) => ({
    images: big.images.slice(j * B * 3 * S * S, (j + 1) * B * 3 * S * S),
    text: big.text.slice(j * B * C, (j + 1) * B * C),
  }));
}

function maxAbsDiff(a: Float32Array, b: Float32Array, skip?: [number, number]): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) if (!skip || i < skip[0] || i >= skip[1]) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

/**
 * The key slice of in_proj_bias has a gradient that is zero but for rounding (softmax ignores a constant added to
 * every key), and AdamW turns rounding noise into steps of ±lr: compared with lr × steps as its tolerance.
 */
const keyBias = (p: string, n: number): [number, number] | undefined => (p.endsWith('in_proj_bias') ? [n / 3, (2 * n) / 3] : undefined);

describe('gradient accumulation', () => {
  const values = initClip(cfg, 3);
  const rng = new Rng(5);
  const batches = [randomBatch(rng, K * B), randomBatch(rng, K * B)];
  let big: TrainStepRunner;
  let acc: AccumStepRunner;
  let trainable: string[];
  const losses: [number, number][] = [];

  beforeAll(async () => {
    const tg = buildTrainGraph(cfg, { batchSize: K * B, adamw });
    trainable = tg.trainable;
    big = await TrainStepRunner.create(tg, values, undefined, { threads: 1 });
    const own = new Map([...values].map(([k, v]) => [k, v.slice()])); // the runner updates its arrays in place
    acc = await AccumStepRunner.create(cfg, buildAccumGraphs(cfg, { batchSize: B, accumSteps: K, adamw }), K, B, own, undefined, { threads: 1 });
    for (let step = 1; step <= batches.length; step++) {
      const b = batches[step - 1]!;
      const scalars = scalarFeeds(adamwScalars(adamw, 1e-3, step));
      const out = await big.step({ images: { data: b.images, shape: [K * B, 3, S, S] }, text: { data: b.text, shape: [K * B, C] }, ...scalars }, ['loss']);
      const r = await acc.step(split(b), scalars);
      losses.push([(out.loss!.data as Float32Array)[0]!, r.loss]);
    }
  }, 120_000);

  afterAll(async () => {
    await big?.release();
    await acc?.release();
  });

  it('reports the loss over the whole K·B batch', () => {
    for (const [a, b] of losses) expect(Math.abs(a - b)).toBeLessThan(1e-5 * Math.max(1, Math.abs(a)));
  });

  it('K micro-batches of B leave every weight as one batch of K·B does, after two steps', () => {
    const bad: string[] = [];
    for (const p of trainable) {
      const w = big.get(p);
      const d = maxAbsDiff(acc.get(p), w, keyBias(p, w.length));
      if (d > 2e-5) bad.push(`${p}: ${d}`);
      const k = keyBias(p, w.length);
      if (k && maxAbsDiff(acc.get(p).subarray(...k), w.subarray(...k)) > 2 * 1e-3 * 1.01) bad.push(`${p} (key slice)`);
    }
    expect(bad).toEqual([]);
    // The steps moved the weights by far more than the tolerance (lr 1e-3, two steps).
    expect(maxAbsDiff(acc.get('visual.conv1.weight'), values.get('visual.conv1.weight')!)).toBeGreaterThan(1e-3);
  });

  it("keeps AdamW's moments equal too, but for logit_scale, whose gradient OpenCLIP sums over the K passes", () => {
    const bad: string[] = [];
    for (const p of trainable) {
      if (p === 'logit_scale') continue;
      const m = big.get(stateName('m', p));
      const tol = 1e-4 * Math.max(1e-3, m.reduce((a, x) => Math.max(a, Math.abs(x)), 0));
      const d = maxAbsDiff(acc.get(stateName('m', p)), m, keyBias(p, m.length));
      if (d > tol) bad.push(`${p}: ${d} > ${tol}`);
    }
    expect(bad).toEqual([]);
    const m1 = big.get(stateName('m', 'logit_scale'))[0]!;
    expect(acc.get(stateName('m', 'logit_scale'))[0]! / m1).toBeCloseTo(K, 3);
  });
});
