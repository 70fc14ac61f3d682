// Axes in transformed space labelled in accuracy: tick positions at T(acc) for round accuracies, and a
// Vega label expression that maps each tick back to its accuracy in percent.
import type { Transform } from '../transform.js';

const CANDIDATES = [
  0.001, 0.002, 0.005, 0.01, 0.02, 0.03, 0.05, 0.075, 0.1, 0.15, 0.2, 0.25, 0.3, 0.35, 0.4, 0.45, 0.5, 0.55, 0.6,
  0.65, 0.7, 0.75, 0.8, 0.85, 0.9, 0.925, 0.95, 0.97, 0.98, 0.99, 0.995, 0.998, 0.999,
];

export function formatPercent(acc: number): string {
  const p = 100 * acc;
  const s = p >= 10 ? p.toFixed(0) : p >= 1 ? p.toFixed(p % 1 === 0 ? 0 : 1) : p.toFixed(1);
  return `${s.replace(/\.0$/, '')}%`;
}

export interface AccuracyAxis {
  /** Tick positions in transformed units. */
  values: number[];
  /** Vega expression for the label of `datum.value`. */
  labelExpr: string;
  domain: [number, number];
}

/** Domain [lo, hi] in transformed units, padded; ticks at round accuracies inside it (at most ~8). */
export function accuracyAxis(t: Transform, zs: number[], pad = 0.08): AccuracyAxis {
  let lo = Math.min(...zs);
  let hi = Math.max(...zs);
  if (!Number.isFinite(lo) || !Number.isFinite(hi)) [lo, hi] = [t.forward(0.05), t.forward(0.95)];
  if (hi - lo < 0.2) {
    const mid = (lo + hi) / 2;
    lo = mid - 0.1;
    hi = mid + 0.1;
  }
  const span = hi - lo;
  const domain: [number, number] = [lo - pad * span, hi + pad * span];
  let accs = CANDIDATES.filter((a) => t.forward(a) >= domain[0] && t.forward(a) <= domain[1]);
  if (accs.length < 3) {
    // A narrow range: ticks every 0.5% (or 0.1%) accuracy inside the domain.
    const aLo = t.inverse(domain[0]);
    const aHi = t.inverse(domain[1]);
    const step = aHi - aLo > 0.03 ? 0.005 : 0.001;
    accs = [];
    for (let a = Math.ceil(aLo / step) * step; a <= aHi; a += step) accs.push(+a.toFixed(4));
  }
  while (accs.length > 8) accs = accs.filter((_, i) => i % 2 === 0);
  const values = accs.map((a) => t.forward(a));
  const tol = 1e-9;
  let expr = "''";
  for (let i = values.length - 1; i >= 0; i--)
    expr = `abs(datum.value - (${values[i]!.toPrecision(17)})) < ${tol} ? '${formatPercent(accs[i]!)}' : ${expr}`;
  return { values, labelExpr: expr, domain };
}
