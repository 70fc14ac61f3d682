// Accuracy transforms for trend lines (probit, logit), their inverses, and clamping away from 0 and 1.
import { normalCdf, normalQuantile } from './normal.js';

export type TransformName = 'probit' | 'logit';
export const TRANSFORMS: readonly TransformName[] = ['probit', 'logit'];

export interface Transform {
  name: TransformName;
  forward(acc: number): number;
  inverse(z: number): number;
}

export const probit: Transform = { name: 'probit', forward: normalQuantile, inverse: normalCdf };

export const logit: Transform = {
  name: 'logit',
  forward: (p) => Math.log(p / (1 - p)),
  inverse: (z) => (z >= 0 ? 1 / (1 + Math.exp(-z)) : Math.exp(z) / (1 + Math.exp(z))),
};

export function getTransform(name: TransformName): Transform {
  return name === 'logit' ? logit : probit;
}

/**
 * The clamp rule: an accuracy measured on n examples is moved into [1/(2n), 1 − 1/(2n)] before
 * transforming (half an example away from 0 and 1), so 0% and 100% stay finite.
 */
export function clampEps(n: number): number {
  return n > 0 && Number.isFinite(n) ? 1 / (2 * n) : 1e-6;
}

export function clampAccuracy(acc: number, n: number): number {
  const eps = clampEps(n);
  return Math.min(1 - eps, Math.max(eps, acc));
}

/** Transform of a clamped accuracy. */
export function transformAccuracy(t: Transform, acc: number, n: number): number {
  return t.forward(clampAccuracy(acc, n));
}
