// Size scaling: does more data from one design move its models along the design's line, or off it?
// Per design and shift, T(shift accuracy) is regressed on T(reference accuracy) and log10(training set
// size) together; the size coefficient is the shift accuracy gained at a fixed reference accuracy per
// decade of data. Along the line ⇔ that coefficient is 0 (t-test, df = n − 3, and its 95% CI).
// (Regressing the residuals of the design's own line on size instead is degenerate: the residuals are
// orthogonal to reference accuracy, which grows with size, and with three models they are proportional
// to one fixed vector, so every shift gets the same t.)
import { type AnalysisContext, lineKey } from './lines.js';
import { studentTQuantile, tTestTwoSided } from './normal.js';
import type { SizeScalingRecord } from './robustness-types.js';
import { AVERAGE } from './study.js';
import { transformAccuracy } from './transform.js';

/** Distinct training set sizes a design needs for the test (the size term needs spread beyond the line's two parameters). */
export const MIN_SIZES = 4;

/** Solves the 3×3 system A·v = b by Cramer's rule; null when A is (numerically) singular. */
function solve3(A: number[][], b: number[]): number[] | null {
  const det = (m: number[][]): number =>
    m[0]![0]! * (m[1]![1]! * m[2]![2]! - m[1]![2]! * m[2]![1]!) -
    m[0]![1]! * (m[1]![0]! * m[2]![2]! - m[1]![2]! * m[2]![0]!) +
    m[0]![2]! * (m[1]![0]! * m[2]![1]! - m[1]![1]! * m[2]![0]!);
  const d = det(A);
  const scale = Math.max(...A.flat().map(Math.abs), 1e-300);
  if (!(Math.abs(d) > 1e-12 * scale ** 3)) return null;
  return [0, 1, 2].map((j) => det(A.map((row, i) => row.map((v, k) => (k === j ? b[i]! : v)))) / d);
}

export interface PartialTest {
  /** Coefficient of z in y = a + b·x + c·z. */
  coefficient: number;
  se: number;
  t: number;
  df: number;
  p: number;
  ci95: [number, number];
}

/** OLS of y on (1, x, z); the t-test and 95% CI of z's coefficient. Null with n < 4 or collinear regressors. */
export function partialSlopeTest(x: number[], z: number[], y: number[]): PartialTest | null {
  const n = y.length;
  if (n < 4) return null;
  const cols = [x.map(() => 1), x, z];
  const XtX = cols.map((ci) => cols.map((cj) => ci.reduce((a, v, i) => a + v * cj[i]!, 0)));
  const Xty = cols.map((c) => c.reduce((a, v, i) => a + v * y[i]!, 0));
  const beta = solve3(XtX, Xty);
  if (!beta) return null;
  const sse = y.reduce((a, yi, i) => a + (yi - beta[0]! - beta[1]! * x[i]! - beta[2]! * z[i]!) ** 2, 0);
  const df = n - 3;
  const inv22 = solve3(XtX, [0, 0, 1]);
  if (!inv22 || !(inv22[2]! > 0)) return null;
  const se = Math.sqrt((sse / df) * inv22[2]!);
  const c = beta[2]!;
  const t = se > 0 ? c / se : c === 0 ? 0 : Infinity * Math.sign(c);
  const q = studentTQuantile(0.975, df);
  return { coefficient: c, se, t, df, p: se > 0 ? tTestTwoSided(t, df) : c === 0 ? 1 : 0, ci95: [c - q * se, c + q * se] };
}

export function analyzeSizeScaling(ctx: AnalysisContext): SizeScalingRecord[] {
  const { study, t, lines } = ctx;
  const out: SizeScalingRecord[] = [];
  for (const design of study.designs) {
    for (const dataset of [...study.shifts, AVERAGE]) {
      const line = lines.get(lineKey(design, dataset));
      if (!line) continue;
      // Models of unknown size (results from other tools) are left out; buildStudy's warnings name them.
      const ms = study.models
        .filter((m): m is typeof m & { size: number } => m.design === design && m.shifts.has(dataset) && m.size !== null)
        .sort((a, b) => a.size - b.size);
      const sizes = [...new Set(ms.map((m) => m.size))];
      if (sizes.length < MIN_SIZES) continue;
      const x = ms.map((m) => transformAccuracy(t, m.reference.acc, m.reference.n));
      const y = ms.map((m) => transformAccuracy(t, m.shifts.get(dataset)!.acc, m.shifts.get(dataset)!.n));
      const test = partialSlopeTest(x, ms.map((m) => Math.log10(m.size)), y);
      if (!test) continue;
      const residuals = x.map((xi, i) => y[i]! - (line.slope * xi + line.intercept));
      const maxAbs = Math.max(...ms.map((m, i) => Math.abs(m.shifts.get(dataset)!.acc - t.inverse(line.slope * x[i]! + line.intercept))));
      out.push({
        design,
        dataset,
        n: ms.length,
        sizes,
        residuals,
        slope: test.coefficient,
        ci95: test.ci95,
        t: test.t,
        df: test.df,
        p: test.p,
        maxAbsResidualAcc: maxAbs,
        onLine: test.p >= 0.05,
      });
    }
  }
  return out;
}
