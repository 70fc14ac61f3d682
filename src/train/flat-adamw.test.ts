// FlatAdamW against addAdamW inside one graph (the update the training step ran before AdamW was its own stage):
// the same values, bit for bit, for every variant (decayed, not decayed, clamped, not updated, clipped), with a
// tensor larger than a chunk so that it is updated in pieces.
import { describe, it, expect } from 'vitest';
import { Graph } from '../graph/index.js';
import { addAdamW, adamwScalars, stateName } from '../nn/adamw.js';
import { StepRunner, scalarFeeds } from '../nn/step-runner.js';
import { Rng } from '../util/rng.js';
import { FlatAdamW, type FlatParam } from './flat-adamw.js';

const PARAMS: FlatParam[] = [
  { name: 'big.weight', shape: [600, 500], decays: true, updated: true }, // 300,000 values: more than one chunk
  { name: 'ln.bias', shape: [7], decays: false, updated: true },
  { name: 'logit_scale', shape: [], decays: false, clamp: [0, 0.05], updated: true },
  { name: 'small.weight', shape: [3, 4], decays: true, updated: true },
  { name: 'unused.weight', shape: [5], decays: true, updated: false },
];
const cfg = { beta1: 0.9, beta2: 0.98, eps: 1e-6, weightDecay: 0.2 };
const size = (p: FlatParam) => p.shape.reduce((a, b) => a * b, 1);

async function compare(clipGradNorm: number | undefined): Promise<string[]> {
  const rng = new Rng(1);
  const values = new Map(PARAMS.map((p) => [p.name, Float32Array.from({ length: size(p) }, () => rng.normal())]));
  values.get('logit_scale')![0] = 0.049;
  const grads = [0, 1, 2].map(() => new Map(PARAMS.map((p) => [p.name, Float32Array.from({ length: size(p) }, () => rng.normal() * 0.1)])));

  // The reference: one graph whose inputs are the parameters and their gradients.
  const g = new Graph('reference');
  const ps = PARAMS.map((p) => ({ name: p.name, tensor: g.input(p.name, p.shape, 'float32', 'param') }));
  const gs = PARAMS.map((p) => (p.updated ? g.input(`g.${p.name}`, p.shape) : null));
  addAdamW(g, ps, gs, { ...cfg, clipGradNorm, decays: (n) => PARAMS.find((p) => p.name === n)!.decays, clamp: { logit_scale: [0, 0.05] } });
  const init = new Map(values);
  for (const p of PARAMS) for (const k of ['m', 'v'] as const) init.set(stateName(k, p.name), new Float32Array(size(p)));
  const ref = await StepRunner.create(g, init, { threads: 1 });
  const flat = await FlatAdamW.create(PARAMS, { ...cfg, clipGradNorm }, values, undefined, { threads: 1 });
  try {
    for (let step = 1; step <= grads.length; step++) {
      const scalars = scalarFeeds(adamwScalars(cfg, 0.01, step));
      const gfeeds = Object.fromEntries(PARAMS.filter((p) => p.updated).map((p) => [`g.${p.name}`, { data: grads[step - 1]!.get(p.name)!, shape: [...p.shape] }]));
      await ref.step({ ...scalars, ...gfeeds });
      for (const p of PARAMS) if (p.updated) (flat.view(p.name, 'g')!.data as Float32Array).set(grads[step - 1]!.get(p.name)!);
      await flat.step(scalars);
    }
    const bad: string[] = [];
    for (const p of PARAMS)
      for (const name of [p.name, stateName('m', p.name), stateName('v', p.name)]) {
        const a = ref.get(name);
        const b = flat.state(name)!;
        if (a.some((x, i) => !Object.is(x, b[i]))) bad.push(name);
      }
    // The updates did something: the clamp held logit_scale at its bound, the unused parameter did not move.
    expect(flat.state('logit_scale')![0]).toBe(Math.fround(0.05));
    expect([...flat.state('unused.weight')!]).toEqual([...values.get('unused.weight')!]);
    expect(flat.state('big.weight')![299_999]).not.toBe(values.get('big.weight')![299_999]);
    return bad;
  } finally {
    await ref.release();
    await flat.release();
  }
}

describe('FlatAdamW', () => {
  it('updates every tensor exactly as addAdamW in one graph does', async () => {
    expect(await compare(undefined)).toEqual([]);
  });

  it('with global-norm clipping too', async () => {
    expect(await compare(0.5)).toEqual([]);
  });
});
