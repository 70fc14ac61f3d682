// Effective robustness: per model and dataset against the baseline line, and per design as the mean over
// its models with a bootstrap 95% CI.
import type { DesignRecord, ModelRecord } from './robustness-types.js';
import { AVERAGE, type Study } from './study.js';
import { type Transform, transformAccuracy } from './transform.js';
import { seedFor } from '../util/seed.js';
import { meanWithCi } from './trend-line.js';

/** ER = acc_shift − T⁻¹(a·T(acc_ref) + b). */
export function effectiveRobustness(
  t: Transform,
  line: { slope: number; intercept: number },
  accRef: number,
  nRef: number,
  accShift: number,
): { predicted: number; er: number } {
  const predicted = t.inverse(line.slope * transformAccuracy(t, accRef, nRef) + line.intercept);
  return { predicted, er: accShift - predicted };
}

export function modelRecords(study: Study, t: Transform, baseline: Map<string, { slope: number; intercept: number }>): ModelRecord[] {
  const out: ModelRecord[] = [];
  for (const m of study.models) {
    for (const dataset of [...study.shifts, AVERAGE]) {
      const s = m.shifts.get(dataset);
      if (!s) continue;
      const line = baseline.get(dataset);
      const er = line ? effectiveRobustness(t, line, m.reference.acc, m.reference.n, s.acc) : null;
      out.push({
        model: m.model,
        design: m.design,
        dataset,
        accReference: m.reference.acc,
        accShift: s.acc,
        baselineShift: er?.predicted ?? null,
        effectiveRobustness: er?.er ?? null,
        size: m.size,
        samplesSeen: m.samplesSeen,
        seed: m.seed,
        nReference: m.reference.n,
        nShift: s.n,
      });
    }
  }
  return out;
}

const mean = (xs: number[]): number => xs.reduce((a, v) => a + v, 0) / xs.length;

export function designRecords(study: Study, models: ModelRecord[], seed: number, resamples: number): DesignRecord[] {
  const out: DesignRecord[] = [];
  for (const design of study.designs) {
    for (const dataset of [...study.shifts, AVERAGE]) {
      const rows = models.filter((r) => r.design === design && r.dataset === dataset);
      if (rows.length === 0) continue;
      const ers = rows.map((r) => r.effectiveRobustness).filter((v): v is number => v !== null);
      out.push({
        design,
        kind: study.designInfo.get(design)?.kind ?? 'unknown',
        dataset,
        models: rows.length,
        accReference: mean(rows.map((r) => r.accReference)),
        accShift: mean(rows.map((r) => r.accShift)),
        effectiveRobustness: ers.length === rows.length ? meanWithCi(ers, seedFor(seed, `er/${design}/${dataset}`), resamples) : null,
      });
    }
  }
  return out;
}
