// The special functions against closed forms: Γ at integers and 1/2, I_x(a, b) where it has a closed form, and
// the quantile as its inverse.
import { describe, expect, it } from 'vitest';
import { betaQuantile, logGamma, regularizedBeta } from './special-functions.js';

describe('beta functions', () => {
  it('logGamma matches factorials and Γ(1/2)', () => {
    expect(logGamma(1)).toBeCloseTo(0, 13);
    expect(logGamma(11)).toBeCloseTo(Math.log(3628800), 11);
    expect(logGamma(0.5)).toBeCloseTo(0.5 * Math.log(Math.PI), 13);
    expect(logGamma(171)).toBeCloseTo(706.5730622457874, 8);
  });

  it('regularizedBeta has the uniform and power-law special cases and inverts', () => {
    expect(regularizedBeta(0.3, 1, 1)).toBeCloseTo(0.3, 14);
    expect(regularizedBeta(0.3, 3, 1)).toBeCloseTo(0.3 ** 3, 14);
    expect(regularizedBeta(0.3, 1, 4)).toBeCloseTo(1 - 0.7 ** 4, 14);
    for (const [p, a, b] of [[0.1, 2, 5], [0.975, 501, 500], [0.5, 0.5, 0.5]] as const) {
      expect(regularizedBeta(betaQuantile(p, a, b), a, b)).toBeCloseTo(p, 12);
    }
  });
});
