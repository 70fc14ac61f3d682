// AdamW inside the graph: decoupled weight decay, bias correction, per-parameter decay mask, optional
// global-norm gradient clipping and per-parameter clamps after the update (CLIP's logit_scale).
import { Graph, type Tensor, add, mul, div, sub, sqrt, sum, clip } from '../graph/index.js';

export interface AdamWConfig {
  beta1: number;
  beta2: number;
  eps: number;
  weightDecay: number;
  /** Clip the global gradient norm to this value (torch.nn.utils.clip_grad_norm_). */
  clipGradNorm?: number;
  /** Whether a parameter gets weight decay (OpenCLIP: >=2-D weights, not norms, biases, logit_scale). */
  decays: (name: string) => boolean;
  /** Clamp these parameters to [lo, hi] after the update. */
  clamp?: Record<string, [number, number]>;
}

/** Scalars fed each step; computed on the host in float64 as PyTorch does. */
export const ADAMW_INPUTS = {
  stepSize: 'adamw.step_size', // lr / (1 - beta1^t)
  decayFactor: 'adamw.decay_factor', // 1 - lr * weight_decay
  bc2Sqrt: 'adamw.bc2_sqrt', // sqrt(1 - beta2^t)
} as const;

export const stateName = (kind: 'm' | 'v', param: string): string => `adamw.${kind}.${param}`;
export const nextName = (name: string): string => `${name}.next`;

export function adamwScalars(cfg: Pick<AdamWConfig, 'beta1' | 'beta2' | 'weightDecay'>, lr: number, step: number): Record<string, number> {
  return {
    [ADAMW_INPUTS.stepSize]: lr / (1 - Math.pow(cfg.beta1, step)),
    [ADAMW_INPUTS.decayFactor]: 1 - lr * cfg.weightDecay,
    [ADAMW_INPUTS.bc2Sqrt]: Math.sqrt(1 - Math.pow(cfg.beta2, step)),
  };
}

/**
 * Adds the update of every parameter to `g`: inputs `adamw.m.<p>`, `adamw.v.<p>` and the scalars above;
 * outputs `<p>.next`, `adamw.m.<p>.next`, `adamw.v.<p>.next`. Returns the gradient norm (before clipping).
 */
export function addAdamW(g: Graph, params: { name: string; tensor: Tensor }[], grads: (Tensor | null)[], cfg: AdamWConfig): Tensor | null {
  const scalars = adamwInputs(g);
  const present = grads.filter((x): x is Tensor => x !== null);
  const norm = present.length ? gradNorm(present) : null;
  const coef = cfg.clipGradNorm !== undefined && norm ? clipCoef(norm, cfg.clipGradNorm) : null;
  g.within('adamw', () =>
    params.forEach(({ name, tensor: p }, i) => {
      const gr = grads[i];
      const m = g.input(stateName('m', name), p.shape, 'float32', 'state');
      const v = g.input(stateName('v', name), p.shape, 'float32', 'state');
      if (!gr) {
        // No gradient (e.g. a frozen or unused parameter): carry everything over unchanged.
        g.output(nextName(name), p);
        g.output(nextName(stateName('m', name)), m);
        g.output(nextName(stateName('v', name)), v);
        return;
      }
      const next = adamwLine(p, m, v, gr, cfg, { ...scalars, coef, decays: cfg.decays(name), clamp: cfg.clamp?.[name] });
      g.output(nextName(name), next.p);
      g.output(nextName(stateName('m', name)), next.m);
      g.output(nextName(stateName('v', name)), next.v);
    }),
  );
  return norm;
}

/** The global gradient norm, as torch.nn.utils.clip_grad_norm_ computes it (per-tensor sums of squares, added in order). */
export function gradNorm(grads: Tensor[]): Tensor {
  return sqrt(grads.map((x) => sum(mul(x, x))).reduce((a, b) => add(a, b)));
}

/** clip_grad_norm_'s factor min(1, max_norm / (norm + 1e-6)). */
export function clipCoef(norm: Tensor, maxNorm: number): Tensor {
  return clip(div(maxNorm, add(norm, 1e-6)), -Infinity, 1);
}

interface LineInputs {
  stepSize: Tensor;
  decayFactor: Tensor;
  bc2Sqrt: Tensor;
  coef: Tensor | null;
  decays: boolean;
  clamp?: [number, number];
}

function adamwInputs(g: Graph): { stepSize: Tensor; decayFactor: Tensor; bc2Sqrt: Tensor } {
  return {
    stepSize: g.input(ADAMW_INPUTS.stepSize, [], 'float32'),
    decayFactor: g.input(ADAMW_INPUTS.decayFactor, [], 'float32'),
    bc2Sqrt: g.input(ADAMW_INPUTS.bc2Sqrt, [], 'float32'),
  };
}

/** One parameter's update, in torch.optim.AdamW's order of operations (the one place this math is written). */
function adamwLine(p: Tensor, m: Tensor, v: Tensor, g: Tensor, cfg: Pick<AdamWConfig, 'beta1' | 'beta2' | 'eps'>, x: LineInputs): { p: Tensor; m: Tensor; v: Tensor } {
  const gr = x.coef ? mul(g, x.coef) : g;
  const decayed = x.decays ? mul(p, x.decayFactor) : p;
  const m2 = add(mul(m, cfg.beta1), mul(gr, 1 - cfg.beta1));
  // (1−β2)·g·g in PyTorch's addcmul order.
  const v2 = add(mul(v, cfg.beta2), mul(mul(gr, 1 - cfg.beta2), gr));
  const denom = add(div(sqrt(v2), x.bc2Sqrt), cfg.eps);
  let p2 = sub(decayed, mul(x.stepSize, div(m2, denom)));
  if (x.clamp) p2 = clip(p2, x.clamp[0], x.clamp[1]);
  return { p: p2, m: m2, v: v2 };
}
