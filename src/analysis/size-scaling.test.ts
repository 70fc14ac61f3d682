// The size-scaling test: the size coefficient of y on (x, log size) against an independent recomputation
// (Frisch–Waugh–Lovell: residualize y and z on x, then a simple regression), and the property the old
// residual-on-size test lacked — different shifts give different statistics.
import { describe, expect, it } from 'vitest';
import { partialSlopeTest } from './size-scaling.js';

/** Simple regression of v on u: slope and residuals. */
function simple(u: number[], v: number[]): { slope: number; resid: number[] } {
  const mu = u.reduce((a, b) => a + b, 0) / u.length;
  const mv = v.reduce((a, b) => a + b, 0) / v.length;
  const sxy = u.reduce((a, ui, i) => a + (ui - mu) * (v[i]! - mv), 0);
  const sxx = u.reduce((a, ui) => a + (ui - mu) ** 2, 0);
  const slope = sxy / sxx;
  return { slope, resid: v.map((vi, i) => vi - mv - slope * (u[i]! - mu)) };
}

const x = [-1.6, -1.2, -0.9, -0.5, -0.4, -0.1];
const z = [3, 3.3, 3.6, 3.9, 4.2, 4.5];

describe('partialSlopeTest', () => {
  it('recovers an exact size term', () => {
    const y = x.map((xi, i) => 0.2 + 0.7 * xi + 0.25 * z[i]!);
    const r = partialSlopeTest(x, z, y)!;
    expect(r.coefficient).toBeCloseTo(0.25, 10);
    expect(r.df).toBe(3);
  });

  it('matches the Frisch–Waugh–Lovell recomputation, its standard error and a t-table p', () => {
    const y = [-2.1, -1.7, -1.05, -0.8, -0.55, -0.35];
    const r = partialSlopeTest(x, z, y)!;
    const ry = simple(x, y).resid;
    const rz = simple(x, z).resid;
    const fwl = simple(rz, ry);
    expect(r.coefficient).toBeCloseTo(fwl.slope, 10);
    const sse = fwl.resid.reduce((a, e) => a + e * e, 0);
    const se = Math.sqrt(sse / (x.length - 3) / rz.reduce((a, v) => a + v * v, 0));
    expect(r.se).toBeCloseTo(se, 10);
    // 95% CI half-width = t(0.975, 3) · se, t(0.975, 3) = 3.182446 (t tables).
    expect((r.ci95[1] - r.ci95[0]) / 2).toBeCloseTo(3.182446 * se, 5);
    expect(r.p).toBeGreaterThan(0);
    expect(r.p).toBeLessThan(1);
  });

  it('gives different statistics for different shifts (the residual-on-size test did not)', () => {
    const y1 = [-2.1, -1.7, -1.05, -0.8, -0.55, -0.35];
    const y2 = [-1.9, -1.75, -1.2, -0.7, -0.75, -0.3];
    const a = partialSlopeTest(x, z, y1)!;
    const b = partialSlopeTest(x, z, y2)!;
    expect(Math.abs(a.t - b.t)).toBeGreaterThan(0.1);
  });

  it('needs four models and non-collinear regressors', () => {
    expect(partialSlopeTest(x.slice(0, 3), z.slice(0, 3), [1, 2, 3])).toBeNull();
    expect(partialSlopeTest(x, x.map((v) => 2 * v + 1), [1, 2, 3, 4, 5, 6])).toBeNull();
  });
});
