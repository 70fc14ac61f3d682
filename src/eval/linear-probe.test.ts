// The linear-probe protocol's parts by hand: CLIP_benchmark's weight-decay search path, the first AdamW step of
// the engine graph (p·(1 − lr·wd) − lr·sign(∇) for the first step), the validation split.
import { describe, expect, it } from 'vitest';
import { ProbeTrainer, WD_LIST, searchWeightDecay, validationSplit } from './linear-probe.js';

describe('weight-decay search', () => {
  it('visits the 7 coarse points then narrows by 8, 4, 2, 1 around the first strict peak', async () => {
    const { index, visited } = await searchWeightDecay(async (i) => 100 - Math.abs(i - 37));
    // Coarse peak 32; [24, 32, 40] → 40; [36, 40, 44] → 36; [34, 36, 38] → 36 (38 ties, not strictly better); [35, 36, 37] → 37.
    expect(visited).toEqual([0, 16, 32, 48, 64, 80, 96, 24, 32, 40, 36, 40, 44, 34, 36, 38, 35, 36, 37]);
    expect(index).toBe(37);
    expect((await searchWeightDecay(async () => 0)).index).toBe(0);
  });

  it('uses logspace(−6, 2, 97)', () => {
    expect(WD_LIST).toHaveLength(97);
    expect(WD_LIST[0]).toBeCloseTo(1e-6, 18);
    expect(WD_LIST[48]).toBeCloseTo(0.01, 14);
    expect(WD_LIST[96]).toBeCloseTo(100, 10);
  });

  it('splits ⌊n·p⌋ rows off for validation, disjoint and seeded', () => {
    const a = validationSplit(10, 0.25, 1);
    expect(a.val).toHaveLength(2);
    expect([...a.train, ...a.val].sort((x, y) => x - y)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(validationSplit(10, 0.25, 1)).toEqual(a);
  });
});

describe('ProbeTrainer', () => {
  it('keeps the defaults for options passed as undefined (the weights stay finite and move)', async () => {
    const x = Float32Array.from([1, 0, 0, 1]);
    const y = Int32Array.from([0, 1]);
    const t = await ProbeTrainer.create({ classes: 2, dim: 2, lr: undefined, epochs: undefined, batchSize: undefined, seed: undefined, threads: undefined });
    const p = await t.train({ x, y }, 0);
    await t.release();
    expect([...p.weight, ...p.bias].every(Number.isFinite)).toBe(true);
    // Ten epochs at lr 0.1 separate two orthogonal points: class 0's weight on x₀ beats class 1's.
    expect(p.weight[0]! - p.weight[2]!).toBeGreaterThan(0.5);
  });

  it('first step = decoupled decay then lr·sign(gradient of the mean cross-entropy)', async () => {
    const dim = 3;
    const C = 2;
    const x = Float32Array.from([1, 0, 0.5, 0, 1, -0.5, 0.3, 0.3, 0.3]);
    const y = Int32Array.from([0, 1, 1]);
    const t = await ProbeTrainer.create({ classes: C, dim, epochs: 1, batchSize: 3, seed: 5, lr: 0.1 });
    // The seeded init: train with lr tiny and wd 0 to read it back (one step moves it by ≤ 1e-9).
    const t0 = await ProbeTrainer.create({ classes: C, dim, epochs: 1, batchSize: 3, seed: 5, lr: 1e-9 });
    const init = await t0.train({ x, y }, 0);
    await t0.release();
    const wd = 0.5;
    const p = await t.train({ x, y }, wd);
    await t.release();
    // Hand gradient of mean CE: dL/dlogit = (softmax − onehot)/n; dW = Σ dlogitᵀ x, db = Σ dlogit.
    const gW = new Float64Array(C * dim);
    const gb = new Float64Array(C);
    for (let i = 0; i < 3; i++) {
      const z = [0, 1].map((c) => init.bias[c]! + [0, 1, 2].reduce((s, j) => s + x[i * dim + j]! * init.weight[c * dim + j]!, 0));
      const m = Math.max(...z);
      const e = z.map((v) => Math.exp(v - m));
      const s = e[0]! + e[1]!;
      for (let c = 0; c < C; c++) {
        const d = (e[c]! / s - (y[i] === c ? 1 : 0)) / 3;
        gb[c]! += d;
        for (let j = 0; j < dim; j++) gW[c * dim + j]! += d * x[i * dim + j]!;
      }
    }
    const lr = 0.1;
    for (let k = 0; k < C * dim; k++) expect(p.weight[k]).toBeCloseTo(init.weight[k]! * (1 - lr * wd) - lr * Math.sign(gW[k]!), 5);
    for (let c = 0; c < C; c++) expect(p.bias[c]).toBeCloseTo(init.bias[c]! * (1 - lr * wd) - lr * Math.sign(gb[c]!), 5);
    // torch's Linear init: every weight within ±1/√dim.
    for (const v of init.weight) expect(Math.abs(v)).toBeLessThanOrEqual(1 / Math.sqrt(dim) + 1e-6);
  });
});
