// mAP against scikit-learn's average_precision_score on fixed random scores (with and without ties).
import { expect, it } from 'vitest';
import { averagePrecision, meanAveragePrecision, multiLabelMeanAveragePrecision } from '../../src/eval/average-precision.js';
import { Rng } from '../../src/util/rng.js';
import { describeWith } from '../support/external.js';
import { pythonWith } from '../support/python.js';

const py = pythonWith(['sklearn'], 'apt-get install python3-sklearn');

const SCRIPT = `
import json, sys
import numpy as np
from sklearn.metrics import average_precision_score
d = json.load(sys.stdin)
out = []
for case in d:
    y = np.array(case["y"]); s = np.array(case["s"], dtype=np.float64)
    out.append([float(average_precision_score(y[:, j], s[:, j])) for j in range(y.shape[1])])
print(json.dumps(out))
`;

describeWith(py, 'average precision vs scikit-learn', () => {
  it('matches average_precision_score per class, single- and multi-label, with ties', () => {
    const rng = new Rng(11);
    const n = 300;
    const c = 7;
    const cases: { y: number[][]; s: number[][] }[] = [];
    const scoresOf: Float32Array[] = [];
    const targetsOf: Uint8Array[] = [];
    for (const quantize of [0, 1]) {
      for (const multi of [false, true]) {
        const s = new Float32Array(n * c);
        const t = new Uint8Array(n * c);
        for (let i = 0; i < n; i++) {
          const label = rng.int(c);
          for (let j = 0; j < c; j++) {
            const pos = multi ? rng.random() < 0.3 : j === label;
            t[i * c + j] = pos ? 1 : 0;
            let v = (pos ? 0.6 : 0) + rng.normal();
            // Coarse scores make many ties.
            if (quantize) v = Math.round(v * 2) / 2;
            s[i * c + j] = v;
          }
        }
        scoresOf.push(s);
        targetsOf.push(t);
        const rows = (a: ArrayLike<number>) => Array.from({ length: n }, (_, i) => Array.from({ length: c }, (_, j) => a[i * c + j]!));
        cases.push({ y: rows(t), s: rows(s) });
      }
    }
    const want = py.run<number[][]>(SCRIPT, cases);
    cases.forEach((_, k) => {
      const s = scoresOf[k]!;
      const t = targetsOf[k]!;
      for (let j = 0; j < c; j++) {
        const col = Float64Array.from({ length: n }, (_, i) => s[i * c + j]!);
        const pos = Uint8Array.from({ length: n }, (_, i) => t[i * c + j]!);
        expect(averagePrecision(col, pos)).toBeCloseTo(want[k]![j]!, 10);
      }
      const mean = want[k]!.reduce((a, b) => a + b, 0) / c;
      expect(multiLabelMeanAveragePrecision(s, t, c).map).toBeCloseTo(mean, 10);
      if (k % 2 === 0) {
        const labels = Array.from({ length: n }, (_, i) => t.subarray(i * c, (i + 1) * c).indexOf(1));
        expect(meanAveragePrecision(s, labels, c).map).toBeCloseTo(mean, 10);
      }
    });
  });
});
