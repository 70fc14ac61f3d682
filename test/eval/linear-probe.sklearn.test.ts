// The linear probe against scikit-learn's LogisticRegression (L-BFGS, L2) on fixed features: the same test
// accuracy within noise and nearly the same predictions.
import { expect, it } from 'vitest';
import { fitLinearProbe, probeLogits } from '../../src/eval/linear-probe.js';
import { Rng } from '../../src/util/rng.js';
import { describeWith } from '../support/external.js';
import { pythonWith } from '../support/python.js';

const py = pythonWith(['sklearn'], 'apt-get install python3-sklearn');

const SCRIPT = `
import json, sys
import numpy as np
from sklearn.linear_model import LogisticRegression
d = json.load(sys.stdin)
clf = LogisticRegression(C=d["C"], max_iter=2000).fit(np.array(d["xtr"]), np.array(d["ytr"]))
print(json.dumps(clf.predict(np.array(d["xte"])).tolist()))
`;

/** Unit features of `C` overlapping Gaussian classes in `dim` dimensions (like normalized CLIP features). */
function features(n: number, C: number, dim: number, rng: Rng, means: number[][]): { x: Float32Array; y: Int32Array } {
  const x = new Float32Array(n * dim);
  const y = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const c = i % C;
    y[i] = c;
    const v = means[c]!.map((m) => m + 0.9 * rng.normal());
    const norm = Math.hypot(...v);
    v.forEach((a, j) => (x[i * dim + j] = a / norm));
  }
  return { x, y };
}

describeWith(py, 'linear probe vs scikit-learn LogisticRegression', () => {
  it('reaches the same test accuracy within noise and agrees on most predictions', async () => {
    const rng = new Rng(3);
    const C = 4;
    const dim = 12;
    const means = Array.from({ length: C }, () => Array.from({ length: dim }, () => rng.normal() * 0.5));
    const train = features(400, C, dim, rng, means);
    const test = features(400, C, dim, rng, means);
    const fit = await fitLinearProbe(train, { classes: C, dim, seed: 0, valProportion: 0.2 });
    const logits = probeLogits(fit.probe, test.x, dim);
    const ours = Array.from({ length: 400 }, (_, i) => {
      let b = 0;
      for (let c = 1; c < C; c++) if (logits[i * C + c]! > logits[i * C + b]!) b = c;
      return b;
    });
    const rows = (x: Float32Array) => Array.from({ length: x.length / dim }, (_, i) => Array.from(x.subarray(i * dim, (i + 1) * dim)));
    // sklearn's C is the inverse L2 strength per sample set; C = 1 (its default) is a moderate penalty.
    const theirs = py.run<number[]>(SCRIPT, { C: 1, xtr: rows(train.x), ytr: Array.from(train.y), xte: rows(test.x) });
    const acc = (p: number[]) => p.filter((v, i) => v === test.y[i]).length / 400;
    const agree = ours.filter((v, i) => v === theirs[i]).length / 400;
    expect(acc(theirs)).toBeGreaterThan(0.5); // a task where the head matters
    expect(acc(theirs)).toBeLessThan(0.98);
    expect(Math.abs(acc(ours) - acc(theirs))).toBeLessThan(0.04);
    expect(agree).toBeGreaterThan(0.9);
    expect(fit.sweep.length).toBeGreaterThanOrEqual(7);
  });
});
