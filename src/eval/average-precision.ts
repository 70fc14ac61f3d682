// Average precision and mean average precision (one-vs-rest over class scores, single- or multi-label).
// AP is scikit-learn's average_precision_score: Σ over distinct thresholds of (ΔRecall × Precision), so tied
// scores form one step; without ties it equals CLIP_benchmark's (tnt's) mean of precision@rank over positives.

/**
 * Average precision of `scores` against a 0/1 relevance mask. Equivalent form used here:
 * AP = (1/P) Σ_{positive i} #{positives j : s_j ≥ s_i} / #{all j : s_j ≥ s_i}. NaN scores rank last.
 * Returns NaN when there is no positive.
 */
export function averagePrecision(scores: ArrayLike<number>, positive: ArrayLike<number | boolean>): number {
  const n = scores.length;
  if (positive.length !== n) throw new RangeError(`averagePrecision: ${n} scores but ${positive.length} labels`);
  const all = new Float64Array(n);
  let p = 0;
  for (let i = 0; i < n; i++) {
    const s = scores[i]!;
    all[i] = Number.isNaN(s) ? -Infinity : s;
    if (positive[i]) p++;
  }
  if (p === 0) return NaN;
  const pos = new Float64Array(p);
  for (let i = 0, k = 0; i < n; i++) if (positive[i]) pos[k++] = all[i]!;
  // Ascending sorts; "how many ≥ s" = length − (index of the first element ≥ s).
  all.sort();
  pos.sort();
  let sum = 0;
  let a = 0; // first index in `all` with a value ≥ the current threshold
  let first = 0; // first index in `pos` with a value ≥ the current threshold (tied positives share it)
  for (let k = 0; k < p; k++) {
    const s = pos[k]!;
    if (k === 0 || s !== pos[k - 1]) {
      first = k;
      while (a < n && all[a]! < s) a++;
    }
    sum += (p - first) / (n - a);
  }
  return sum / p;
}

export interface MeanAveragePrecision {
  /** Mean of `perClass` over the classes with at least one positive. */
  map: number;
  /** AP of each class; NaN for a class without positives (left out of the mean). */
  perClass: Float64Array;
  /** Classes that entered the mean. */
  classes: number;
}

function meanOver(perClass: Float64Array): MeanAveragePrecision {
  let s = 0;
  let k = 0;
  for (const v of perClass) {
    if (Number.isNaN(v)) continue;
    s += v;
    k++;
  }
  return { map: k > 0 ? s / k : NaN, perClass, classes: k };
}

/** One-vs-rest mAP of `n` rows of `c` class scores against single labels in [0, c). */
export function meanAveragePrecision(scores: Float32Array, labels: ArrayLike<number>, c: number): MeanAveragePrecision {
  const n = labels.length;
  if (scores.length !== n * c) throw new RangeError(`meanAveragePrecision: ${scores.length} scores, want ${n}×${c}`);
  const col = new Float64Array(n);
  const pos = new Uint8Array(n);
  const perClass = new Float64Array(c);
  for (let j = 0; j < c; j++) {
    let any = false;
    for (let i = 0; i < n; i++) {
      col[i] = scores[i * c + j]!;
      pos[i] = labels[i] === j ? 1 : 0;
      any ||= pos[i] === 1;
    }
    perClass[j] = any ? averagePrecision(col, pos) : NaN;
  }
  return meanOver(perClass);
}

/** mAP of `n` rows of `c` class scores against a 0/1 target matrix [n, c] (multi-label). */
export function multiLabelMeanAveragePrecision(scores: Float32Array, targets: Uint8Array, c: number): MeanAveragePrecision {
  const n = scores.length / c;
  if (!Number.isInteger(n) || targets.length !== scores.length) throw new RangeError(`multiLabelMeanAveragePrecision: ${scores.length} scores and ${targets.length} targets for ${c} classes`);
  const col = new Float64Array(n);
  const pos = new Uint8Array(n);
  const perClass = new Float64Array(c);
  for (let j = 0; j < c; j++) {
    for (let i = 0; i < n; i++) {
      col[i] = scores[i * c + j]!;
      pos[i] = targets[i * c + j]!;
    }
    perClass[j] = averagePrecision(col, pos);
  }
  return meanOver(perClass);
}
