// Clopper–Pearson interval against scipy.stats.beta (1.17) and closed forms.
import { describe, it, expect } from 'vitest';
import { clopperPearson } from './clopper-pearson.js';

// (k, n) -> [beta.ppf(0.025, k, n-k+1), beta.ppf(0.975, k+1, n-k)] from scipy 1.17.1.
const SCIPY: [number, number, number, number][] = [
  [0, 10, 0, 0.3084971078187607],
  [1, 10, 0.0025285785444617848, 0.4450161170281954],
  [5, 10, 0.18708602844739855, 0.8129139715526015],
  [10, 10, 0.6915028921812392, 1],
  [50, 100, 0.39832112950330095, 0.601678870496699],
  [3, 7, 0.09898827844250786, 0.8159484323599169],
  [0, 1, 0, 0.975],
  [1, 1, 0.025, 1],
  [937, 1000, 0.9201119581266455, 0.9512530724434194],
  [12, 50000, 0.0001240174545766767, 0.0004191941313160677],
  [1, 3, 0.008403758659612636, 0.9057006759497539],
];

describe('clopperPearson', () => {
  it.each(SCIPY)('k=%i n=%i matches scipy', (k, n, lo, hi) => {
    const [a, b] = clopperPearson(k, n);
    expect(Math.abs(a - lo)).toBeLessThan(1e-12 + 1e-9 * lo);
    expect(Math.abs(b - hi)).toBeLessThan(1e-12 + 1e-9 * hi);
  });

  it('has the closed forms at k = 0 and k = n', () => {
    for (const n of [1, 2, 5, 37, 1000]) {
      expect(clopperPearson(0, n)[1]).toBeCloseTo(1 - 0.025 ** (1 / n), 12);
      expect(clopperPearson(n, n)[0]).toBeCloseTo(0.025 ** (1 / n), 12);
    }
  });

  it('contains the point estimate and narrows with n', () => {
    for (const [k, n] of [[3, 10], [30, 100], [300, 1000]] as const) {
      const [lo, hi] = clopperPearson(k, n);
      expect(lo).toBeLessThan(k / n);
      expect(hi).toBeGreaterThan(k / n);
    }
    const w = (n: number) => clopperPearson(n / 2, n)[1] - clopperPearson(n / 2, n)[0];
    expect(w(1000)).toBeLessThan(w(100));
  });

  it('rejects impossible counts', () => {
    expect(() => clopperPearson(3, 2)).toThrow(RangeError);
    expect(() => clopperPearson(0, 0)).toThrow(RangeError);
  });
});
