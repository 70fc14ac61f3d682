// The exact (Clopper–Pearson) binomial confidence interval, from the beta quantile in util/special-functions.
import { betaQuantile } from '../util/special-functions.js';

/**
 * Clopper–Pearson interval for k successes in n trials at level 1 − alpha (default 95%):
 * [B(α/2; k, n−k+1), B(1−α/2; k+1, n−k)], with 0 when k = 0 and 1 when k = n.
 */
export function clopperPearson(k: number, n: number, alpha = 0.05): [number, number] {
  if (!Number.isInteger(n) || n < 1) throw new RangeError(`clopperPearson: n must be a positive integer (got ${n})`);
  if (!Number.isInteger(k) || k < 0 || k > n) throw new RangeError(`clopperPearson: k must be an integer in [0, n] (got ${k})`);
  const lo = k === 0 ? 0 : betaQuantile(alpha / 2, k, n - k + 1);
  const hi = k === n ? 1 : betaQuantile(1 - alpha / 2, k + 1, n - k);
  return [lo, hi];
}
