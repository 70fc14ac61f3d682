import { describe, expect, it } from 'vitest';
import { erfc, normalCdf, normalQuantile, studentTCdf, tTestTwoSided } from './normal.js';
import { clampAccuracy, logit, probit, transformAccuracy } from './transform.js';

// Reference values from R (pnorm/qnorm/pt) to 16 digits.
describe('normal distribution', () => {
  it('Φ matches known values with ~1e-14 relative error, tails included', () => {
    const cases: [number, number][] = [
      [0, 0.5],
      [-1, 0.15865525393145707],
      [1.96, 0.9750021048517795],
      [-3, 0.0013498980316300946],
      [-5, 2.866515718791939e-7],
      [-10, 7.619853024160527e-24],
      [-20, 2.7536241186062337e-89],
    ];
    for (const [x, v] of cases) expect(Math.abs(normalCdf(x) - v) / v).toBeLessThan(1e-13);
    expect(erfc(1)).toBeCloseTo(0.15729920705028513, 15);
  });
  it('Φ⁻¹ matches known values and inverts Φ', () => {
    expect(normalQuantile(0.975)).toBeCloseTo(1.959963984540054, 13);
    expect(normalQuantile(0.025)).toBeCloseTo(-1.959963984540054, 13);
    expect(normalQuantile(1e-10)).toBeCloseTo(-6.361340902404056, 12);
    expect(normalQuantile(0.5)).toBe(0);
    expect(normalQuantile(0)).toBe(-Infinity);
    for (const p of [1e-300, 1e-8, 0.01, 0.3, 0.7, 0.99, 1 - 1e-9]) {
      const x = normalQuantile(p);
      const back = p < 0.5 ? normalCdf(x) : 1 - normalCdf(x);
      expect(Math.abs(back - (p < 0.5 ? p : 1 - p)) / (p < 0.5 ? p : 1 - p)).toBeLessThan(1e-9);
    }
  });
  it('Student t CDF and two-sided p', () => {
    expect(tTestTwoSided(2.228138851986274, 10)).toBeCloseTo(0.05, 10);
    expect(studentTCdf(-1, 3)).toBeCloseTo(0.1955011094778853, 10);
    expect(studentTCdf(0, 5)).toBeCloseTo(0.5, 14);
  });
});

describe('transforms', () => {
  it('probit and logit round-trip; clamping keeps 0 and 1 finite', () => {
    expect(probit.inverse(probit.forward(0.37))).toBeCloseTo(0.37, 14);
    expect(logit.forward(0.75)).toBeCloseTo(Math.log(3), 14);
    expect(logit.inverse(logit.forward(0.3))).toBeCloseTo(0.3, 14);
    expect(clampAccuracy(0, 100)).toBe(0.005);
    expect(clampAccuracy(1, 100)).toBe(0.995);
    expect(transformAccuracy(probit, 0, 100)).toBeCloseTo(normalQuantile(0.005), 14);
  });
});
