// End-to-end engine test: an MLP built with the builder trains with in-graph AdamW, one ORT session per step.
import { describe, it, expect } from 'vitest';
import { Graph, relu, logSoftmax, mul, sum, neg, oneHot, grad, argmax, type Tensor } from '../graph/index.js';
import { ParamStore } from './params.js';
import { linear } from './layers.js';
import { addAdamW, adamwScalars, stateName, type AdamWConfig } from './adamw.js';
import { StepRunner, scalarFeeds } from './step-runner.js';
import { Session } from '../runtime/index.js';
import { Rng } from '../util/rng.js';

/** Two interleaved spirals: not linearly separable. */
function spirals(n: number, rng: Rng): { x: Float32Array; y: BigInt64Array } {
  const x = new Float32Array(2 * n);
  const y = new BigInt64Array(n);
  for (let i = 0; i < n; i++) {
    const c = i % 2;
    const t = 0.5 + 3 * Math.PI * rng.random();
    const r = t / (3 * Math.PI + 0.5);
    const a = t + c * Math.PI;
    x[2 * i] = r * Math.cos(a) + 0.02 * rng.normal();
    x[2 * i + 1] = r * Math.sin(a) + 0.02 * rng.normal();
    y[i] = BigInt(c);
  }
  return { x, y };
}

function mlp(ps: ParamStore, x: Tensor): Tensor {
  let h = relu(linear(ps, 'fc1', x, 2, 64));
  h = relu(linear(ps, 'fc2', h, 64, 64));
  return linear(ps, 'out', h, 64, 2);
}

describe('engine end to end', () => {
  it('trains an MLP on two spirals to >= 95% accuracy with AdamW in one session per step', async () => {
    const rng = new Rng(7);
    const B = 128;
    const g = new Graph('spiral_step');
    const ps = new ParamStore(g);
    const x = g.input('x', [B, 2]);
    const y = g.input('y', [B], 'int64');
    const logits = mlp(ps, x);
    const loss = mul(neg(sum(mul(logSoftmax(logits), oneHot(y, 2)))), 1 / B);
    g.output('loss', loss);
    const params = ps.trainable();
    const cfg: AdamWConfig = { beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 1e-4, decays: (n) => n.endsWith('weight') };
    addAdamW(g, params, grad(loss, params.map((p) => p.tensor)), cfg);

    const state = ps.initialize(rng);
    for (const p of params) {
      state.set(stateName('m', p.name), new Float32Array(state.get(p.name)!.length));
      state.set(stateName('v', p.name), new Float32Array(state.get(p.name)!.length));
    }
    const runner = await StepRunner.create(g, state, { threads: 2 });
    const train = spirals(2048, rng);
    let last = Infinity;
    for (let step = 1; step <= 600; step++) {
      const idx = Array.from({ length: B }, () => rng.int(2048));
      const xb = new Float32Array(2 * B);
      const yb = new BigInt64Array(B);
      idx.forEach((j, k) => {
        xb[2 * k] = train.x[2 * j]!;
        xb[2 * k + 1] = train.x[2 * j + 1]!;
        yb[k] = train.y[j]!;
      });
      const lr = 0.01 * 0.5 * (1 + Math.cos((Math.PI * step) / 600));
      const out = await runner.step({ x: { data: xb, shape: [B, 2] }, y: { data: yb, shape: [B] }, ...scalarFeeds(adamwScalars(cfg, lr, step)) }, ['loss']);
      last = out.loss!.data[0] as number;
    }
    expect(last).toBeLessThan(0.3);

    // Evaluate on fresh points with a separate inference graph over the trained weights.
    const test = spirals(1000, new Rng(99));
    const eg = new Graph('spiral_eval');
    const eps = new ParamStore(eg);
    const ex = eg.input('x', ['N', 2]);
    eg.output('pred', argmax(mlp(eps, ex), 1));
    const s = await Session.create(eg, { threads: 2 });
    const feeds: Record<string, { data: Float32Array; shape: number[] }> = { x: { data: test.x, shape: [1000, 2] } };
    for (const p of eps.specs) feeds[p.name] = { data: runner.get(p.name), shape: p.shape };
    const pred = (await s.run(feeds)).pred!.data as BigInt64Array;
    let correct = 0;
    for (let i = 0; i < 1000; i++) if (pred[i] === test.y[i]) correct++;
    expect(correct / 1000).toBeGreaterThanOrEqual(0.95);
    await s.release();
    await runner.release();
  });
});
