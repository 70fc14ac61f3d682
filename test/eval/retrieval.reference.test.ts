// Retrieval recall@k against CLIP_benchmark's definition computed with NumPy (positive-pair matrix, top-k per
// row, "any true positive among the top k"), on fixed random unit features with several captions per image.
import { expect, it } from 'vitest';
import { retrievalRecall } from '../../src/eval/retrieval.js';
import { Rng } from '../../src/util/rng.js';
import { describeWith } from '../support/external.js';
import { pythonWith } from '../support/python.js';

const py = pythonWith(['numpy'], 'apt-get install python3-numpy');

const SCRIPT = `
import json, sys
import numpy as np
d = json.load(sys.stdin)
I = np.array(d["images"], dtype=np.float64); T = np.array(d["texts"], dtype=np.float64)
scores = T @ I.T
pos = np.zeros_like(scores, dtype=bool); pos[np.arange(len(T)), d["textImage"]] = True
def recall(s, p, k):
    top = np.argsort(-s, axis=1, kind="stable")[:, :k]
    return (np.take_along_axis(p, top, axis=1).sum(axis=1) > 0).mean()
out = {}
for k in d["ks"]:
    out["image_retrieval_recall@%d" % k] = float(recall(scores, pos, k))
    out["text_retrieval_recall@%d" % k] = float(recall(scores.T, pos.T, k))
print(json.dumps(out))
`;

describeWith(py, 'retrieval recall vs a NumPy computation of CLIP_benchmark’s', () => {
  it('agrees at k = 1, 5, 10 with 5 captions per image', () => {
    const rng = new Rng(4);
    const d = 16;
    const nI = 60;
    const unit = (v: number[]) => v.map((x) => x / Math.hypot(...v));
    const imgs = Array.from({ length: nI }, () => unit(Array.from({ length: d }, () => rng.normal())));
    const textImage: number[] = [];
    const texts: number[][] = [];
    imgs.forEach((v, i) => {
      for (let c = 0; c < 5; c++) {
        texts.push(unit(v.map((x) => x + 1.2 * rng.normal() / Math.sqrt(d))));
        textImage.push(i);
      }
    });
    const ks = [1, 5, 10];
    // float32 features on both sides, so both compute the same scores up to summation order.
    const f32 = (rows: number[][]) => Float32Array.from(rows.flat());
    const want = py.run<Record<string, number>>(SCRIPT, { images: imgs.map((r) => Array.from(Float32Array.from(r))), texts: texts.map((r) => Array.from(Float32Array.from(r))), textImage, ks });
    const got = retrievalRecall({ images: f32(imgs), texts: f32(texts), dim: d, textImage }, ks);
    expect(Object.keys(got).sort()).toEqual(Object.keys(want).sort());
    for (const [k, v] of Object.entries(want)) expect(got[k], k).toBeCloseTo(v, 12);
    // The set is hard enough that the metrics are not trivially 0 or 1.
    expect(want['image_retrieval_recall@1']).toBeGreaterThan(0.1);
    expect(want['image_retrieval_recall@1']).toBeLessThan(0.95);
  });
});
