// AdamW inside the graph: decoupled weight decay, bias correction, per-parameter decay mask, optional
// global-norm gradient clipping and per-parameter clamps after the update (CLIP's logit_scale).
import { type Graph, type Tensor, add, mul, div, sub, sqrt, sum, clip, equal, slice, where } from '../graph/index.js';

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
  /**
   * Make every parameter's update wait for all gradients, so that `<p>.next` may be written into the buffer of
   * `<p>` itself: every other reader of a parameter (forward, backward) is then done before any update lands.
   */
  afterAllGradients?: boolean;
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
  const stepSize = g.input(ADAMW_INPUTS.stepSize, [], 'float32');
  const decayFactor = g.input(ADAMW_INPUTS.decayFactor, [], 'float32');
  const bc2Sqrt = g.input(ADAMW_INPUTS.bc2Sqrt, [], 'float32');
  const present = grads.filter((x): x is Tensor => x !== null);
  let norm: Tensor | null = null;
  if (present.length) norm = sqrt(present.map((x) => sum(mul(x, x))).reduce((a, b) => add(a, b)));
  let coef: Tensor | null = null;
  if (cfg.clipGradNorm !== undefined && norm) coef = clip(div(cfg.clipGradNorm, add(norm, 1e-6)), -Infinity, 1);

  // With afterAllGradients, every scalar that starts a parameter's update chain (m·β1, g·(1−β1), v·β2, g·(1−β2),
  // p·decay) gets a data dependency on one element of every gradient, with no effect on its value (NaN-safe: both
  // branches agree). So no update starts, and none of its full-size intermediates exists, before the last gradient.
  let k = (x: number | Tensor): number | Tensor => x;
  if (cfg.afterAllGradients && present.length) {
    const probe = present.map(firstElement).reduce((a, b) => add(a, b));
    const ok = equal(probe, probe);
    k = (x) => (typeof x === 'number' ? where(ok, g.constant(Float32Array.of(x), [], 'float32'), x) : where(ok, x, x));
  }
  const b1 = k(cfg.beta1);
  const c1 = k(1 - cfg.beta1);
  const b2 = k(cfg.beta2);
  const c2 = k(1 - cfg.beta2);
  const decay = k(decayFactor);

  g.within('adamw', () =>
    params.forEach(({ name, tensor: p }, i) => {
      let gr = grads[i];
      const m = g.input(stateName('m', name), p.shape, 'float32', 'state');
      const v = g.input(stateName('v', name), p.shape, 'float32', 'state');
      if (!gr) {
        // No gradient (e.g. a frozen or unused parameter): carry everything over unchanged.
        g.output(nextName(name), p);
        g.output(nextName(stateName('m', name)), m);
        g.output(nextName(stateName('v', name)), v);
        return;
      }
      if (coef) gr = mul(gr, coef);
      const decayed = cfg.decays(name) ? mul(p, decay) : p;
      const m2 = add(mul(m, b1), mul(gr, c1));
      // (1−β2)·g·g in PyTorch's addcmul order.
      const v2 = add(mul(v, b2), mul(mul(gr, c2), gr));
      const denom = add(div(sqrt(v2), bc2Sqrt), cfg.eps);
      let p2 = sub(decayed, mul(stepSize, div(m2, denom)));
      const c = cfg.clamp?.[name];
      if (c) p2 = clip(p2, c[0], c[1]);
      g.output(nextName(name), p2);
      g.output(nextName(stateName('m', name)), m2);
      g.output(nextName(stateName('v', name)), v2);
    }),
  );
  return norm;
}

function firstElement(t: Tensor): Tensor {
  let x = t;
  for (let a = 0; a < t.rank; a++) x = slice(x, a, 0, 1);
  return t.rank ? sum(x) : x;
}
