import { describe, expect, it } from 'vitest';
import type { LoadedResult, Result } from '../eval/result.js';
import { analyze } from './analyze.js';
import { normalCdf } from './normal.js';
import { syntheticResults } from '../../test/support/synthetic-results.js';

function result(model: string, design: string, dataset: string, acc1: number, extra: Partial<Result> = {}): LoadedResult {
  return {
    file: `/results/${model}__${dataset}.json`,
    result: {
      model, design, dataset,
      metrics: { acc1, acc5: acc1, mean_per_class_recall: acc1 },
      n: 100000, samples_seen: 1000, seed: 0,
      ...extra,
    },
  };
}

// Baseline design "b": probit(ref) = −1, 0, 1; probit(shift) = −1.5, −0.9, −0.6 → line 0.45·x − 1 (by hand).
const hand: LoadedResult[] = [
  ...[[-1, -1.5], [0, -0.9], [1, -0.6]].flatMap(([x, y], i) => [
    result(`b${i}`, 'b', 'ref', normalCdf(x!)),
    result(`b${i}`, 'b', 'shift', normalCdf(y!)),
  ]),
  result('m', 'other', 'ref', 0.5),
  result('m', 'other', 'shift', 0.2),
];

describe('analyze', () => {
  it('fits the hand-worked baseline line and computes ER through the inverse transform', () => {
    const r = analyze(hand, { reference: 'ref', baseline: { kind: 'designs', designs: ['b'] }, resamples: 200 });
    const line = r.lines.find((l) => l.design === 'b' && l.dataset === 'shift')!;
    // Clamping at 1/(2n) = 5e-6 does not touch these accuracies, so the fit is exact to ~1e-12.
    expect(line.slope).toBeCloseTo(0.45, 10);
    expect(line.intercept).toBeCloseTo(-1, 10);
    expect(line.r2).toBeCloseTo(1 - 0.015 / 0.42, 10);
    expect(r.baseline.lines.find((l) => l.dataset === 'shift')!.slope).toBeCloseTo(0.45, 10);
    // Model m: acc_ref 0.5 → probit 0 → baseline predicts Φ(−1) = 0.15865525393145707; ER = 0.2 − that.
    const m = r.models.find((x) => x.model === 'm' && x.dataset === 'shift')!;
    expect(m.baselineShift).toBeCloseTo(0.15865525393145707, 10);
    expect(m.effectiveRobustness).toBeCloseTo(0.2 - 0.15865525393145707, 10);
    // One shift: the average equals it.
    const avg = r.models.find((x) => x.model === 'm' && x.dataset === 'average')!;
    expect(avg.effectiveRobustness).toBeCloseTo(m.effectiveRobustness!, 12);
    expect(r.notes.join(' ')).toMatch(/averaged over the shifts .* first/);
  });

  it('logit transform uses the logistic inverse', () => {
    const r = analyze(hand, { reference: 'ref', transform: 'logit', baseline: { kind: 'designs', designs: ['b'] }, resamples: 50 });
    const b = r.baseline.lines.find((l) => l.dataset === 'shift')!;
    const m = r.models.find((x) => x.model === 'm' && x.dataset === 'shift')!;
    expect(m.baselineShift).toBeCloseTo(1 / (1 + Math.exp(-b.intercept)), 12);
  });

  it('is deterministic by seed', () => {
    const rs = syntheticResults().map((result, i) => ({ file: `/r/${i}.json`, result }));
    const a = analyze(rs, { seed: 3, resamples: 200 });
    const b = analyze(rs, { seed: 3, resamples: 200 });
    const c = analyze(rs, { seed: 4, resamples: 200 });
    expect(a.lines).toEqual(b.lines);
    expect(a.lines.map((l) => l.ci95)).not.toEqual(c.lines.map((l) => l.ci95));
  });

  it('finds dilution, output mixing ≈ input mixing, and size on one line in the synthetic study', () => {
    const rs = syntheticResults().map((result, i) => ({ file: `/r/${i}.json`, result }));
    const r = analyze(rs, { resamples: 300 });
    expect(r.reference).toBe('noto-v1');
    expect(r.baseline.source).toBe('baseline-kind');
    const d = r.dilution.find((x) => x.mixture === 'mix-tw50' && x.dataset === 'average')!;
    expect(d.between).toBe(true);
    expect(d.belowBest).toBe(true);
    expect(d.dilution).toBeGreaterThan(0.01);
    expect(d.ensemble?.design).toBe('ens-tw50');
    expect(Math.abs(d.ensemble!.difference)).toBeLessThan(0.02);
    const tw = r.sizeScaling.find((s) => s.design === 'twemoji' && s.dataset === 'average')!;
    expect(tw.n).toBe(4);
    expect(tw.onLine).toBe(true);
    const curve = r.mixingCurves.find((c) => c.dataset === 'average')!;
    expect(curve.points.map((p) => p.proportion)).toEqual([0, 0.25, 0.5, 0.75, 1]);
  });

  it('rejects a model evaluated on a different class subset than its baseline, naming the file', () => {
    const bad = [
      ...hand.map((h) => ({ ...h, result: { ...h.result, classes: 'subset-100' } })),
      result('z', 'other', 'shift', 0.3, { classes: 'subset-50' }),
      result('z', 'other', 'ref', 0.3, { classes: 'subset-100' }),
    ];
    expect(() => analyze(bad, { reference: 'ref', baseline: { kind: 'designs', designs: ['b'] } })).toThrow(
      /\/results\/z__shift\.json: model z was evaluated on shift with class subset "subset-50" but baseline model b0/,
    );
  });

  it('uses the baseline\'s class subset when a model was evaluated on several; --classes picks another', () => {
    const both = [
      ...hand.map((h) => ({ ...h, result: { ...h.result, classes: 'subset-100' } })),
      // Model m also has results on all classes, with different accuracies.
      result('m', 'other', 'ref', 0.3, { classes: 'all' }),
      result('m', 'other', 'shift', 0.05, { classes: 'all' }),
    ];
    const r = analyze(both, { reference: 'ref', baseline: { kind: 'designs', designs: ['b'] }, resamples: 20 });
    expect(r.models.find((x) => x.model === 'm' && x.dataset === 'shift')!.accShift).toBe(0.2);
    const all = analyze(both, { reference: 'ref', classes: 'all', resamples: 20 });
    expect(all.models.map((x) => x.model)).toEqual(['m', 'm']);
    expect(all.models[0]!.accReference).toBe(0.3);
  });

  it('rejects unknown reference and baseline designs', () => {
    expect(() => analyze(hand, { reference: 'nope' })).toThrow(/--reference: no results on dataset "nope"/);
    expect(() => analyze(hand, { reference: 'ref', baseline: { kind: 'designs', designs: ['zz'] } })).toThrow(/--baseline: no models of design "zz"/);
  });
});
