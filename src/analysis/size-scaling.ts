// Size scaling: do a design's models at different training set sizes stay on one line? Residuals from
// the design's own line, regressed on log10(size), with a t-test on that slope (df = n − 2).
import type { AnalysisContext } from './analyze.js';
import { lineKey } from './analyze.js';
import type { SizeScalingRecord } from './robustness-types.js';
import { AVERAGE } from './study.js';
import { fitLine } from './trend-line.js';
import { transformAccuracy } from './transform.js';
import { tTestTwoSided } from './normal.js';

/** Slope of y on x with its standard error (null when undefined). */
export function slopeTest(xs: number[], ys: number[]): { slope: number; t: number; df: number; p: number } | null {
  const n = xs.length;
  const fit = fitLine(xs.map((x, i) => ({ x, y: ys[i]! })));
  if (!fit || n < 3) return null;
  const mx = xs.reduce((a, v) => a + v, 0) / n;
  const sxx = xs.reduce((a, v) => a + (v - mx) ** 2, 0);
  const sse = xs.reduce((a, x, i) => a + (ys[i]! - fit.slope * x - fit.intercept) ** 2, 0);
  const df = n - 2;
  const se = Math.sqrt(sse / df / sxx);
  const t = se > 0 ? fit.slope / se : fit.slope === 0 ? 0 : Infinity * Math.sign(fit.slope);
  return { slope: fit.slope, t, df, p: se > 0 ? tTestTwoSided(t, df) : fit.slope === 0 ? 1 : 0 };
}

export function analyzeSizeScaling(ctx: AnalysisContext): SizeScalingRecord[] {
  const { study, t, lines } = ctx;
  const out: SizeScalingRecord[] = [];
  for (const design of study.designs) {
    for (const dataset of [...study.shifts, AVERAGE]) {
      const line = lines.get(lineKey(design, dataset));
      if (!line) continue;
      const ms = study.models
        .filter((m) => m.design === design && m.shifts.has(dataset))
        .sort((a, b) => a.size - b.size);
      if (new Set(ms.map((m) => m.size)).size < 3) continue;
      const residuals: number[] = [];
      let maxAbs = 0;
      for (const m of ms) {
        const s = m.shifts.get(dataset)!;
        const x = transformAccuracy(t, m.reference.acc, m.reference.n);
        const pred = line.slope * x + line.intercept;
        residuals.push(transformAccuracy(t, s.acc, s.n) - pred);
        maxAbs = Math.max(maxAbs, Math.abs(s.acc - t.inverse(pred)));
      }
      const test = slopeTest(ms.map((m) => Math.log10(m.size)), residuals);
      if (!test) continue;
      out.push({
        design,
        dataset,
        n: ms.length,
        sizes: ms.map((m) => m.size),
        residuals,
        ...test,
        maxAbsResidualAcc: maxAbs,
        onLine: test.p >= 0.05,
      });
    }
  }
  return out;
}
