// FlatAdamW (its WebAssembly kernel) against addAdamW inside one ORT graph (the update the training step ran before
// AdamW was its own stage): the same values, bit for bit, for every variant (decayed, not decayed, clamped, not
// updated, clipped), with the state in the kernel's memory and staged through it (a tensor larger than one stage).
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
  // An embedding: most rows get an all-zero gradient in a step (idle blocks), a few a non-zero one.
  { name: 'embed.weight', shape: [900, 16], decays: true, updated: true },
  { name: 'embed.bias', shape: [900], decays: false, updated: true },
];
const cfg = { beta1: 0.9, beta2: 0.98, eps: 1e-6, weightDecay: 0.2 };
const size = (p: FlatParam) => p.shape.reduce((a, b) => a * b, 1);

/** Gradients of three steps; the embedding's are zero (+0, or −0 in some rows) outside a few rows drawn per step. */
function gradients(rng: Rng): Map<string, Float32Array>[] {
  return [0, 1, 2].map(() => new Map(PARAMS.map((p) => {
    const g = Float32Array.from({ length: size(p) }, () => rng.normal() * 0.1);
    if (p.name === 'logit_scale') g[0] = -Math.abs(g[0]!); // so that the update runs into the clamp
    if (!p.name.startsWith('embed.')) return [p.name, g];
    const width = p.shape[1] ?? 1;
    const used = new Set(Array.from({ length: 12 }, () => Math.floor(rng.uniform(0, 900))));
    for (let row = 0; row < 900; row++) if (!used.has(row)) g.fill(row % 97 === 0 ? -0 : 0, row * width, (row + 1) * width);
    return [p.name, g];
  })));
}

async function compare(clipGradNorm: number | undefined, resume = false, staged = false): Promise<string[]> {
  const rng = new Rng(1);
  const values = new Map(PARAMS.map((p) => [p.name, Float32Array.from({ length: size(p) }, () => rng.normal())]));
  values.get('logit_scale')![0] = 0.049;
  const grads = gradients(rng);
  // On resume, some embedding rows carry moments from earlier steps but get no gradient now.
  const moments = new Map(PARAMS.flatMap((p) => (['m', 'v'] as const).map((k) => {
    const x = new Float32Array(size(p));
    if (resume && p.name === 'embed.weight') for (let i = 0; i < 16 * 40; i++) x[i * 7] = k === 'm' ? rng.normal() * 0.01 : Math.abs(rng.normal()) * 1e-4;
    return [stateName(k, p.name), x] as const;
  })));

  // The reference: one graph whose inputs are the parameters and their gradients.
  const g = new Graph('reference');
  const ps = PARAMS.map((p) => ({ name: p.name, tensor: g.input(p.name, p.shape, 'float32', 'param') }));
  const gs = PARAMS.map((p) => (p.updated ? g.input(`g.${p.name}`, p.shape) : null));
  addAdamW(g, ps, gs, { ...cfg, clipGradNorm, decays: (n) => PARAMS.find((p) => p.name === n)!.decays, clamp: { logit_scale: [0, 0.05] } });
  const init = new Map(values);
  for (const [k, x] of moments) init.set(k, x.slice());
  const ref = await StepRunner.create(g, init, { threads: 1 });
  const flat = await FlatAdamW.create(PARAMS, { ...cfg, clipGradNorm }, values, resume ? moments : undefined, { threads: 1 }, staged ? 1 : undefined);
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
    // An embedding row no step used has only decayed, and its moments are still zero.
    const used = new Set(grads.flatMap((m) => [...m.get('embed.weight')!.keys()].filter((i) => m.get('embed.weight')![i] !== 0).map((i) => Math.floor(i / 16))));
    const idle = [...Array(900).keys()].find((row) => !used.has(row) && (!resume || row * 16 >= 16 * 40 * 7))!;
    expect(flat.state(stateName('v', 'embed.weight'))![idle * 16]).toBe(0);
    expect(flat.state('embed.weight')![idle * 16]).not.toBe(values.get('embed.weight')![idle * 16]);
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

  it('resumed with moments in rows that get no gradient', async () => {
    expect(await compare(undefined, true)).toEqual([]);
  });

  it('with the state in host buffers, staged through the kernel', async () => {
    expect(await compare(undefined, true, true)).toEqual([]);
    expect(await compare(0.5, false, true)).toEqual([]);
  });
});
