import { describe, expect, it } from 'vitest';
import { fitLine, fitLineWithCi, meanWithCi, percentile } from './trend-line.js';

describe('trend lines', () => {
  // Hand-worked: x = −1, 0, 1; y = −1.5, −0.9, −0.6 → slope 0.9/2 = 0.45, intercept ȳ = −1,
  // residuals −0.05, 0.1, −0.05 → SSE 0.015, SYY 0.42, R² = 1 − 0.015/0.42.
  const pts = [
    { x: -1, y: -1.5 },
    { x: 0, y: -0.9 },
    { x: 1, y: -0.6 },
  ];
  it('fits least squares by hand', () => {
    const f = fitLine(pts)!;
    expect(f.slope).toBeCloseTo(0.45, 14);
    expect(f.intercept).toBeCloseTo(-1, 14);
    expect(f.r2).toBeCloseTo(1 - 0.015 / 0.42, 12);
    expect(f.n).toBe(3);
    expect(fitLine([{ x: 1, y: 1 }, { x: 1, y: 2 }])).toBeNull();
  });
  it('bootstrap is deterministic by seed and brackets the estimate', () => {
    const many = Array.from({ length: 12 }, (_, i) => ({ x: i / 4, y: 0.8 * (i / 4) - 0.3 + 0.05 * Math.sin(i * 7) }));
    const a = fitLineWithCi(many, { seed: 7, resamples: 400 })!;
    const b = fitLineWithCi(many, { seed: 7, resamples: 400 })!;
    const c = fitLineWithCi(many, { seed: 8, resamples: 400 })!;
    expect(a.ci95).toEqual(b.ci95);
    expect(a.ci95).not.toEqual(c.ci95);
    expect(a.ci95.slope[0]).toBeLessThan(a.slope);
    expect(a.ci95.slope[1]).toBeGreaterThan(a.slope);
    const m = meanWithCi([1, 2, 3, 4], 3);
    expect(m.mean).toBe(2.5);
    expect(m).toEqual(meanWithCi([1, 2, 3, 4], 3));
  });
  it('percentile interpolates (type 7)', () => {
    expect(percentile([1, 2, 3, 4], 0.5)).toBe(2.5);
    expect(percentile([1, 2, 3, 4], 0.025)).toBeCloseTo(1.075, 12);
  });
});
