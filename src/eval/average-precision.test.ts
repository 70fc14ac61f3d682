// Average precision on hand-worked cases: ranked lists with and without ties, single- and multi-label mAP.
import { describe, expect, it } from 'vitest';
import { averagePrecision, meanAveragePrecision, multiLabelMeanAveragePrecision } from './average-precision.js';
import { classificationMetrics } from './metrics.js';

describe('averagePrecision', () => {
  it('is the mean of precision at each positive rank without ties', () => {
    // Ranks 1, 3, 5 are positive: (1/1 + 2/3 + 3/5) / 3.
    expect(averagePrecision([0.9, 0.8, 0.7, 0.6, 0.5], [1, 0, 1, 0, 1])).toBeCloseTo((1 + 2 / 3 + 3 / 5) / 3, 12);
    // Order of the input does not matter, only the scores.
    expect(averagePrecision([0.5, 0.7, 0.9, 0.6, 0.8], [1, 1, 1, 0, 0])).toBeCloseTo((1 + 2 / 3 + 3 / 5) / 3, 12);
  });

  it('treats tied scores as one threshold (scikit-learn), not in an arbitrary order', () => {
    // Threshold 0.5: 1 of 2 retrieved is positive (recall 0.5); threshold 0.3: 2 of 3 (recall 1).
    expect(averagePrecision([0.5, 0.5, 0.3], [1, 0, 1])).toBeCloseTo(0.5 * 0.5 + 0.5 * (2 / 3), 12);
    expect(averagePrecision([0.5, 0.5, 0.3], [0, 1, 1])).toBeCloseTo(0.5 * 0.5 + 0.5 * (2 / 3), 12);
    // All tied: precision is the positive rate.
    expect(averagePrecision([1, 1, 1, 1], [1, 0, 0, 1])).toBeCloseTo(0.5, 12);
  });

  it('is 1 for a perfect ranking and NaN without positives', () => {
    expect(averagePrecision([3, 2, 1, 0], [1, 1, 0, 0])).toBe(1);
    expect(averagePrecision([3, 2, 1], [0, 0, 0])).toBeNaN();
  });
});

describe('mean average precision', () => {
  it('averages one-vs-rest AP over the classes that have samples', () => {
    // 3 rows, 3 classes; class 2 has no samples and is left out.
    const scores = Float32Array.from([0.9, 0.1, 0.0, 0.6, 0.4, 0.0, 0.2, 0.8, 0.0]);
    const m = meanAveragePrecision(scores, [0, 0, 1], 3);
    // Class 0: scores 0.9, 0.6, 0.2 with positives rows 0, 1 → AP 1. Class 1: 0.1, 0.4, 0.8, positive row 2 → AP 1.
    expect(m.perClass[0]).toBe(1);
    expect(m.perClass[1]).toBe(1);
    expect(m.perClass[2]).toBeNaN();
    expect(m.classes).toBe(2);
    expect(m.map).toBe(1);
    const worse = meanAveragePrecision(Float32Array.from([0.1, 0.9, 0.6, 0.4, 0.2, 0.8]), [0, 0, 1], 2);
    // Class 0 scores 0.1, 0.6, 0.2 positives rows 0, 1: ranks 3 and 1 → (1/1 + 2/3)/2; class 1 scores 0.9, 0.4, 0.8 positive row 2 → rank 2 → 1/2.
    expect(worse.map).toBeCloseTo(((1 + 2 / 3) / 2 + 0.5) / 2, 6);
    expect(classificationMetrics(Float32Array.from([0.1, 0.9, 0.6, 0.4, 0.2, 0.8]), [0, 0, 1], 2).mean_average_precision).toBeCloseTo(worse.map, 12);
  });

  it('multi-label: every class with positives, targets as a 0/1 matrix', () => {
    const scores = Float32Array.from([0.9, 0.8, 0.1, 0.2, 0.5, 0.7]);
    const targets = Uint8Array.from([1, 1, 0, 0, 1, 1]);
    const m = multiLabelMeanAveragePrecision(scores, targets, 2);
    // Class 0: scores 0.9, 0.1, 0.5 positives rows 0, 2 → ranks 1, 2 → AP 1. Class 1: 0.8, 0.2, 0.7 positives rows 0, 2 → AP 1.
    expect(m.map).toBe(1);
    const m2 = multiLabelMeanAveragePrecision(Float32Array.from([0.1, 0.9, 0.8, 0.2]), Uint8Array.from([1, 0, 0, 1]), 2);
    // Class 0: 0.1, 0.8 positive row 0 → rank 2 → 1/2; class 1: 0.9, 0.2 positive row 1 → rank 2 → 1/2.
    expect(m2.map).toBeCloseTo(0.5, 12);
  });
});
