// Finite-difference gradient checking (JAX's check_grads): compares autodiff VJPs with central differences.
import { Graph, type Tensor, grad, mul, sum, cast } from '../../src/graph/index.js';
import type { DType } from '../../src/graph/types.js';
import { Session } from '../../src/runtime/session.js';
import { Rng } from '../../src/util/rng.js';

export interface GradInput {
  shape: number[];
  /** Values (default: standard normal). */
  values?: number[];
  /** Integer or boolean inputs are constants, not differentiated. */
  kind?: 'float' | 'int64' | 'bool';
}

export interface GradCheckResult {
  dtype: DType;
  maxAbsErr: number;
  maxRelErr: number;
  worst: string;
  checked: number;
}

/**
 * Builds `f(inputs)` in float64 (falling back to float32 when ORT has no float64 kernel), forms the
 * scalar sum(f(x) * r) for a fixed random r, and compares d/dx by autodiff with central differences.
 */
export async function checkGrads(
  f: (xs: Tensor[]) => Tensor,
  specs: GradInput[],
  opts: { seed?: number; threads?: number; dtype?: DType } = {},
): Promise<GradCheckResult> {
  const dtypes: DType[] = opts.dtype ? [opts.dtype] : ['float64', 'float32'];
  let lastErr: unknown;
  for (const dtype of dtypes) {
    try {
      return await checkIn(dtype, f, specs, opts);
    } catch (e) {
      lastErr = e;
      if (!/rejected graph|NOT_IMPLEMENTED|Could not find an implementation/i.test(String((e as Error).message))) throw e;
    }
  }
  throw lastErr;
}

async function checkIn(
  dtype: DType,
  f: (xs: Tensor[]) => Tensor,
  specs: GradInput[],
  opts: { seed?: number; threads?: number },
): Promise<GradCheckResult> {
  const rng = new Rng(opts.seed ?? 1);
  const Arr = dtype === 'float64' ? Float64Array : Float32Array;
  const g = new Graph('check_grads');
  const xs: Tensor[] = [];
  const feedsBase: Record<string, { data: Float64Array | Float32Array; shape: number[] }> = {};
  const floatIdx: number[] = [];
  specs.forEach((s, i) => {
    const n = s.shape.reduce((a, b) => a * b, 1);
    const vals = s.values ?? Array.from({ length: n }, () => rng.normal());
    if (s.kind === 'int64') xs.push(g.constant(BigInt64Array.from(vals.map(BigInt)), s.shape, 'int64'));
    else if (s.kind === 'bool') xs.push(g.constant(Uint8Array.from(vals), s.shape, 'bool'));
    else {
      xs.push(g.input(`x${i}`, s.shape, dtype));
      feedsBase[`x${i}`] = { data: Arr.from(vals), shape: s.shape };
      floatIdx.push(i);
    }
  });
  let y = f(xs);
  if (y.dtype !== dtype) y = cast(y, dtype);
  const n = y.shape.reduce<number>((a, b) => a * (b as number), 1);
  const rv = new Arr(n).map(() => rng.normal());
  const r = g.constant(rv, y.shape, dtype);
  const loss = sum(mul(y, r));
  const grads = grad(loss, floatIdx.map((i) => xs[i]!));
  g.output('loss', loss);
  floatIdx.forEach((i, k) => {
    const gi = grads[k];
    if (!gi) throw new Error(`no gradient for input ${i}`);
    g.output(`g${i}`, gi);
  });
  const s = await Session.create(g, { threads: opts.threads ?? 2 });
  try {
    const base = await s.run(feedsBase);
    const h = dtype === 'float64' ? 1e-6 : 1e-2;
    let maxAbs = 0;
    let maxRel = 0;
    let worst = '';
    let checked = 0;
    for (const i of floatIdx) {
      const feed = feedsBase[`x${i}`]!;
      const ana = base[`g${i}`]!.data as Float64Array;
      for (let j = 0; j < feed.data.length; j++) {
        const orig = feed.data[j]!;
        feed.data[j] = orig + h;
        const lp = Number((await s.run(feedsBase, {}, ['loss'])).loss!.data[0]);
        feed.data[j] = orig - h;
        const lm = Number((await s.run(feedsBase, {}, ['loss'])).loss!.data[0]);
        feed.data[j] = orig;
        const num = (lp - lm) / (2 * h);
        const abs = Math.abs(num - ana[j]!);
        const rel = abs / Math.max(1, Math.abs(num), Math.abs(ana[j]!));
        if (rel > maxRel) {
          maxRel = rel;
          worst = `input ${i} element ${j}: autodiff ${ana[j]} vs finite difference ${num}`;
        }
        maxAbs = Math.max(maxAbs, abs);
        checked++;
      }
    }
    return { dtype, maxAbsErr: maxAbs, maxRelErr: maxRel, worst, checked };
  } finally {
    await s.release();
  }
}

/** Runs a graph built by `f` on constant inputs and returns its single output's values. */
export async function evalOnce(f: (g: Graph) => Tensor, threads = 2): Promise<{ data: ArrayLike<number | bigint>; shape: number[] }> {
  const g = new Graph('eval_once');
  g.output('y', f(g));
  const s = await Session.create(g, { threads });
  try {
    const r = await s.run({});
    return { data: r.y!.data as ArrayLike<number | bigint>, shape: r.y!.shape };
  } finally {
    await s.release();
  }
}
