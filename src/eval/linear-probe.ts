// Linear probe on frozen features, CLIP_benchmark's protocol: a linear layer (bias, torch's default init) trained
// with AdamW (lr 0.1, cosine schedule, no warmup), cross-entropy, batch 64, 10 epochs; weight decay picked
// from logspace(−6, 2, 97) on a validation split (7 coarse points, then halving steps around the peak), then
// trained again on train + validation and scored on test. The training step is an engine graph (in-graph AdamW).
import { Graph, add, logSoftmax, matmul, mT, mul, neg, oneHot, sum, grad } from '../graph/index.js';
import { addAdamW, adamwScalars, stateName, type AdamWConfig } from '../nn/adamw.js';
import { ParamStore, uniform } from '../nn/params.js';
import { StepRunner, scalarFeeds } from '../nn/step-runner.js';
import { Rng } from '../util/rng.js';

export interface ProbeData {
  /** [n, dim]. */
  x: Float32Array;
  y: Int32Array;
}

export interface ProbeOptions {
  classes: number;
  dim: number;
  lr?: number;
  epochs?: number;
  batchSize?: number;
  seed?: number;
  threads?: number;
}

/** The 97 candidate weight decays, 10^(−6 + i/12). */
export const WD_LIST = Array.from({ length: 97 }, (_, i) => Math.pow(10, -6 + (i * 8) / 96));

export interface Probe {
  weight: Float32Array;
  bias: Float32Array;
}

const W = 'probe.weight';
const B = 'probe.bias';

/** A reusable trainer: one graph and session; each `train` restarts from the seeded init. */
export class ProbeTrainer {
  private constructor(
    private readonly runner: StepRunner,
    private readonly init: Map<string, Float32Array>,
    private readonly o: Required<ProbeOptions>,
    private readonly cfg: AdamWConfig,
  ) {}

  static async create(opts: ProbeOptions): Promise<ProbeTrainer> {
    // `??`, not a spread: callers pass unset options as undefined, which a spread would keep (lr NaN, NaN weights).
    const o = { ...opts, lr: opts.lr ?? 0.1, epochs: opts.epochs ?? 10, batchSize: opts.batchSize ?? 64, seed: opts.seed ?? 0, threads: opts.threads ?? 1 };
    const g = new Graph('linear_probe_step');
    const ps = new ParamStore(g);
    const x = g.input('x', ['B', o.dim]);
    const y = g.input('y', ['B'], 'int64');
    const invB = g.input('inv_b', [], 'float32');
    // torch.nn.Linear's default init: weight and bias uniform(±1/√in).
    const bound = 1 / Math.sqrt(o.dim);
    const w = ps.param(W, [o.classes, o.dim], uniform(bound));
    const b = ps.param(B, [o.classes], uniform(bound));
    const logits = add(matmul(x, mT(w)), b);
    const loss = mul(neg(sum(mul(logSoftmax(logits), oneHot(y, o.classes)))), invB);
    g.output('loss', loss);
    const params = ps.trainable();
    // torch.optim.AdamW over model.parameters(): every parameter, bias included, is decayed.
    const cfg: AdamWConfig = { beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0, decays: () => true };
    addAdamW(g, params, grad(loss, params.map((p) => p.tensor)), cfg);
    const init = ps.initialize(new Rng(o.seed));
    for (const p of params) {
      init.set(stateName('m', p.name), new Float32Array(init.get(p.name)!.length));
      init.set(stateName('v', p.name), new Float32Array(init.get(p.name)!.length));
    }
    const runner = await StepRunner.create(g, init, { threads: o.threads });
    return new ProbeTrainer(runner, init, o, cfg);
  }

  async train(data: ProbeData, weightDecay: number): Promise<Probe> {
    const { dim, batchSize, epochs, lr, seed } = this.o;
    for (const [k, v] of this.init) this.runner.set(k, v);
    const n = data.y.length;
    const steps = epochs * Math.ceil(n / batchSize);
    const order = new Rng(seed + 1);
    const cfg = { ...this.cfg, weightDecay };
    let step = 0;
    for (let e = 0; e < epochs; e++) {
      const perm = order.shuffle(Array.from({ length: n }, (_, i) => i));
      for (let s = 0; s < n; s += batchSize) {
        const idx = perm.slice(s, s + batchSize);
        const xb = new Float32Array(idx.length * dim);
        const yb = new BigInt64Array(idx.length);
        idx.forEach((j, k) => {
          xb.set(data.x.subarray(j * dim, (j + 1) * dim), k * dim);
          yb[k] = BigInt(data.y[j]!);
        });
        // CLIP_benchmark's cosine_lr with warmup 0: lr·½(1 + cos(π·step/steps)), set before each step.
        const rate = 0.5 * (1 + Math.cos((Math.PI * step) / steps)) * lr;
        step++;
        await this.runner.step({
          x: { data: xb, shape: [idx.length, dim] },
          y: { data: yb, shape: [idx.length] },
          inv_b: { data: Float32Array.of(1 / idx.length), shape: [] },
          ...scalarFeeds(adamwScalars(cfg, rate, step)),
        });
      }
    }
    return { weight: Float32Array.from(this.runner.get(W)), bias: Float32Array.from(this.runner.get(B)) };
  }

  release(): Promise<void> {
    return this.runner.release();
  }
}

/** Logits [n, classes] of a probe. */
export function probeLogits(p: Probe, x: Float32Array, dim: number): Float32Array {
  const C = p.bias.length;
  const n = x.length / dim;
  const out = new Float32Array(n * C);
  for (let i = 0; i < n; i++)
    for (let c = 0; c < C; c++) {
      let s = p.bias[c]!;
      for (let j = 0; j < dim; j++) s += x[i * dim + j]! * p.weight[c * dim + j]!;
      out[i * C + c] = s;
    }
  return out;
}

function top1(logits: Float32Array, y: Int32Array, C: number): number {
  let hit = 0;
  for (let i = 0; i < y.length; i++) {
    let best = 0;
    for (let c = 1; c < C; c++) if (logits[i * C + c]! > logits[i * C + best]!) best = c;
    if (best === y[i]) hit++;
  }
  return hit / y.length;
}

/**
 * CLIP_benchmark's find_peak: train at each index, keep the first strictly best validation top-1 (starting
 * from index 0 at accuracy 0). Then the search: the 7 indices 0, 16, …, 96, then [peak − s, peak, peak + s]
 * for s = 8, 4, 2, 1 (clamped to the list).
 */
export async function searchWeightDecay(valAcc: (wdIndex: number) => Promise<number>): Promise<{ index: number; visited: number[] }> {
  const visited: number[] = [];
  const findPeak = async (idxs: number[]): Promise<number> => {
    let best = 0;
    let max = 0;
    for (const i of idxs) {
      visited.push(i);
      const acc = await valAcc(i);
      if (max < acc) {
        best = i;
        max = acc;
      }
    }
    return best;
  };
  let peak = await findPeak([0, 16, 32, 48, 64, 80, 96]);
  for (let span = 8; span > 0; span >>= 1) peak = await findPeak([Math.max(peak - span, 0), peak, Math.min(peak + span, 96)]);
  return { index: peak, visited };
}

/** Seeded split of row indices into train and validation (⌊n·p⌋ validation rows). */
export function validationSplit(n: number, proportion: number, seed: number): { train: number[]; val: number[] } {
  const perm = new Rng(seed).shuffle(Array.from({ length: n }, (_, i) => i));
  const nv = Math.floor(n * proportion);
  return { val: perm.slice(0, nv).sort((a, b) => a - b), train: perm.slice(nv).sort((a, b) => a - b) };
}

export function subset(d: ProbeData, rows: number[], dim: number): ProbeData {
  const x = new Float32Array(rows.length * dim);
  rows.forEach((r, i) => x.set(d.x.subarray(r * dim, (r + 1) * dim), i * dim));
  return { x, y: Int32Array.from(rows, (r) => d.y[r]!) };
}

export interface ProbeFit {
  probe: Probe;
  weightDecay: number;
  /** Validation top-1 by weight-decay index visited. */
  sweep: { weight_decay: number; val_acc1: number }[];
}

/** The whole protocol on train features: sweep on (train − val, val), then fit on all of train. */
export async function fitLinearProbe(train: ProbeData, o: ProbeOptions & { valProportion?: number }): Promise<ProbeFit> {
  const trainer = await ProbeTrainer.create(o);
  try {
    const p = o.valProportion ?? 0.2;
    if (p <= 0) return { probe: await trainer.train(train, 0), weightDecay: 0, sweep: [] };
    const split = validationSplit(train.y.length, p, (o.seed ?? 0) + 2);
    const tr = subset(train, split.train, o.dim);
    const va = subset(train, split.val, o.dim);
    const seen = new Map<number, number>();
    const { index } = await searchWeightDecay(async (i) => {
      if (!seen.has(i)) seen.set(i, top1(probeLogits(await trainer.train(tr, WD_LIST[i]!), va.x, o.dim), va.y, o.classes));
      return seen.get(i)!;
    });
    const sweep = [...seen].sort((a, b) => a[0] - b[0]).map(([i, acc]) => ({ weight_decay: WD_LIST[i]!, val_acc1: acc }));
    return { probe: await trainer.train(train, WD_LIST[index]!), weightDecay: WD_LIST[index]!, sweep };
  } finally {
    await trainer.release();
  }
}
