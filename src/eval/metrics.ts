// Zero-shot classification metrics from class logits: top-1, top-5, mean per-class recall, per-class accuracy and
// the 95% Clopper–Pearson interval on top-1 (CLIP_benchmark's definitions; ties broken toward the lower class index),
// and one-vs-rest mean average precision over the class scores.
import { meanAveragePrecision } from './average-precision.js';
import { clopperPearson } from './clopper-pearson.js';

export interface ClassificationMetrics {
  acc1: number;
  /** Top-k accuracy with k = min(5, classes) (as CLIP_benchmark does for small label sets). */
  acc5: number;
  /** Mean over the classes that have samples of that class's top-1 recall (sklearn balanced_accuracy_score). */
  mean_per_class_recall: number;
  /** One-vs-rest average precision of each class's scores, averaged over the classes that have samples. */
  mean_average_precision: number;
  /** 95% Clopper–Pearson interval on acc1. */
  acc1_ci95: [number, number];
  /** Correct top-1 count. */
  correct1: number;
  correct5: number;
  n: number;
  /** Class index → [correct top-1, samples] for classes with samples. */
  perClass: Map<number, [number, number]>;
}

/**
 * Rank of the true class among `c` logits at `row`: how many classes would come before it when sorted by
 * logit descending with ties broken by class index (so argmax picks the lowest index among equals, as torch does).
 */
export function trueClassRank(logits: Float32Array, row: number, c: number, label: number): number {
  const base = row * c;
  const v = logits[base + label]!;
  let rank = 0;
  for (let j = 0; j < c; j++) {
    const x = logits[base + j]!;
    if (x > v || (x === v && j < label) || (Number.isNaN(v) && !Number.isNaN(x))) rank++;
  }
  return rank;
}

/** Metrics of `n` rows of `c` class logits against integer labels in [0, c). */
export function classificationMetrics(logits: Float32Array, labels: ArrayLike<number>, c: number, alpha = 0.05): ClassificationMetrics {
  const n = labels.length;
  if (n < 1) throw new RangeError('classificationMetrics: no samples');
  if (logits.length !== n * c) throw new RangeError(`classificationMetrics: logits hold ${logits.length} values, want ${n}×${c}`);
  // NaN compares false with everything: a NaN logit would rank first and score as correct.
  for (let i = 0; i < logits.length; i++)
    if (!Number.isFinite(logits[i]!)) throw new RangeError(`classificationMetrics: logit ${logits[i]} in row ${Math.floor(i / c)}`);
  const k5 = Math.min(5, c);
  let correct1 = 0;
  let correct5 = 0;
  const perClass = new Map<number, [number, number]>();
  for (let i = 0; i < n; i++) {
    const y = labels[i]!;
    if (!(Number.isInteger(y) && y >= 0 && y < c)) throw new RangeError(`classificationMetrics: label ${y} of row ${i} outside [0, ${c})`);
    const rank = trueClassRank(logits, i, c, y);
    const pc = perClass.get(y) ?? [0, 0];
    pc[1]++;
    if (rank === 0) {
      correct1++;
      pc[0]++;
    }
    if (rank < k5) correct5++;
    perClass.set(y, pc);
  }
  let recall = 0;
  for (const [hit, total] of perClass.values()) recall += hit / total;
  return {
    acc1: correct1 / n,
    acc5: correct5 / n,
    mean_per_class_recall: recall / perClass.size,
    mean_average_precision: meanAveragePrecision(logits, labels, c).map,
    acc1_ci95: clopperPearson(correct1, n, alpha),
    correct1,
    correct5,
    n,
    perClass: new Map([...perClass].sort((a, b) => a[0] - b[0])),
  };
}
