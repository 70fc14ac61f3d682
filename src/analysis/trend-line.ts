// Least-squares trend lines in transformed space, with a seeded bootstrap over models for 95% CIs.
import { Rng } from '../util/rng.js';

export interface Point {
  x: number;
  y: number;
}

export interface LineFit {
  slope: number;
  intercept: number;
  /** Coefficient of determination; 1 when n = 2, NaN when y is constant. */
  r2: number;
  n: number;
}

export interface LineWithCi extends LineFit {
  ci95: { slope: [number, number]; intercept: [number, number] };
  /** Bootstrap replicates (slope, intercept) kept for prediction bands; not serialized. */
  replicates: [number, number][];
}

/** Ordinary least squares y = slope·x + intercept. Returns null with < 2 points or no spread in x. */
export function fitLine(points: Point[]): LineFit | null {
  const n = points.length;
  if (n < 2) return null;
  let mx = 0;
  let my = 0;
  for (const p of points) {
    mx += p.x;
    my += p.y;
  }
  mx /= n;
  my /= n;
  let sxx = 0;
  let sxy = 0;
  let syy = 0;
  for (const p of points) {
    sxx += (p.x - mx) ** 2;
    sxy += (p.x - mx) * (p.y - my);
    syy += (p.y - my) ** 2;
  }
  if (sxx <= 1e-24 * Math.max(1, mx * mx)) return null;
  const slope = sxy / sxx;
  const intercept = my - slope * mx;
  let sse = 0;
  for (const p of points) sse += (p.y - slope * p.x - intercept) ** 2;
  const r2 = syy > 0 ? 1 - sse / syy : NaN;
  return { slope, intercept, r2, n };
}

/** Percentile (linear interpolation between order statistics, R type 7) of sorted values. */
export function percentile(sorted: number[], q: number): number {
  if (sorted.length === 0) return NaN;
  const h = (sorted.length - 1) * q;
  const lo = Math.floor(h);
  const hi = Math.ceil(h);
  return sorted[lo]! + (h - lo) * (sorted[hi]! - sorted[lo]!);
}

export interface BootstrapOptions {
  seed: number;
  /** Number of resamples (default 1000). */
  resamples?: number;
}

/**
 * Fit a line and its percentile-bootstrap 95% CI: resample the models (points) with replacement,
 * refit, skip resamples with no spread in x. Deterministic for a given seed.
 */
export function fitLineWithCi(points: Point[], opts: BootstrapOptions): LineWithCi | null {
  const fit = fitLine(points);
  if (!fit) return null;
  const rng = new Rng(opts.seed);
  const B = opts.resamples ?? 1000;
  const replicates: [number, number][] = [];
  const sample: Point[] = new Array(points.length);
  for (let b = 0; b < B; b++) {
    for (let i = 0; i < points.length; i++) sample[i] = points[rng.int(points.length)]!;
    const f = fitLine(sample);
    if (f) replicates.push([f.slope, f.intercept]);
  }
  const slopes = replicates.map((r) => r[0]).sort((a, b) => a - b);
  const intercepts = replicates.map((r) => r[1]).sort((a, b) => a - b);
  return {
    ...fit,
    ci95: {
      slope: [percentile(slopes, 0.025), percentile(slopes, 0.975)],
      intercept: [percentile(intercepts, 0.025), percentile(intercepts, 0.975)],
    },
    replicates,
  };
}

/** 95% band of the line's prediction at x from the bootstrap replicates. */
export function predictionCi(line: LineWithCi, x: number): [number, number] {
  const ys = line.replicates.map(([a, b]) => a * x + b).sort((p, q) => p - q);
  return [percentile(ys, 0.025), percentile(ys, 0.975)];
}

/** Mean and percentile-bootstrap 95% CI of a sample (seeded). */
export function meanWithCi(values: number[], seed: number, resamples = 1000): { mean: number; ci95: [number, number] } {
  const n = values.length;
  const mean = values.reduce((a, v) => a + v, 0) / Math.max(1, n);
  if (n < 2) return { mean, ci95: [mean, mean] };
  const rng = new Rng(seed);
  const means: number[] = [];
  for (let b = 0; b < resamples; b++) {
    let s = 0;
    for (let i = 0; i < n; i++) s += values[rng.int(n)]!;
    means.push(s / n);
  }
  means.sort((a, b) => a - b);
  return { mean, ci95: [percentile(means, 0.025), percentile(means, 0.975)] };
}
