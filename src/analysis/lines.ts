// Trend lines shared by every part of the analysis: the points of a design's models in transformed space,
// the table of fitted lines keyed by (design, dataset), and the context later stages read them from.
import type { LineRecord } from './robustness-types.js';
import { AVERAGE, type ModelRow, type Study } from './study.js';
import { type Transform, transformAccuracy } from './transform.js';
import { seedFor } from '../util/seed.js';
import { type LineWithCi, type Point, fitLineWithCi, predictionCi } from './trend-line.js';

/** Points at which a line's 95% prediction band is recorded (for plots). */
const BAND_POINTS = 12;

/** The bootstrap 95% band of a line's prediction at evenly spaced x over [lo, hi]. */
export function lineBand(line: LineWithCi, lo: number, hi: number): { x: number; lo: number; hi: number }[] {
  return Array.from({ length: BAND_POINTS }, (_, i) => {
    const x = lo + ((hi - lo) * i) / (BAND_POINTS - 1);
    const [a, b] = predictionCi(line, x);
    return { x, lo: a, hi: b };
  });
}

/** Lines keyed by `${design}\0${dataset}`; the fitted objects keep bootstrap replicates. */
export type LineTable = Map<string, LineWithCi>;
export const lineKey = (design: string, dataset: string): string => `${design}\u0000${dataset}`;

export interface AnalysisContext {
  study: Study;
  t: Transform;
  lines: LineTable;
  /** Baseline line per dataset (transformed space). */
  baseline: Map<string, { slope: number; intercept: number }>;
  seed: number;
  resamples: number;
}

/** (T(reference accuracy), T(shift accuracy)) of each model that has a result on `dataset`. */
export function pointsOf(models: ModelRow[], dataset: string, t: Transform): Point[] {
  const pts: Point[] = [];
  for (const m of models) {
    const s = m.shifts.get(dataset);
    if (!s) continue;
    pts.push({ x: transformAccuracy(t, m.reference.acc, m.reference.n), y: transformAccuracy(t, s.acc, s.n) });
  }
  return pts;
}

/** Every design's line on every shift and on the average, with bootstrap CIs over its models. */
export function fitDesignLines(study: Study, t: Transform, seed: number, resamples: number): { lines: LineTable; records: LineRecord[] } {
  const lines: LineTable = new Map();
  const records: LineRecord[] = [];
  for (const design of study.designs) {
    // Reference models (evaluated, not trained by the study) are points on the axes, not lines.
    if (study.designInfo.get(design)?.kind === 'reference') continue;
    const ms = study.models.filter((m) => m.design === design);
    for (const dataset of [...study.shifts, AVERAGE]) {
      const pts = pointsOf(ms, dataset, t);
      const fit = fitLineWithCi(pts, { seed: seedFor(seed, `${design}/${dataset}`), resamples });
      if (!fit) continue;
      lines.set(lineKey(design, dataset), fit);
      const xs = pts.map((p) => p.x);
      records.push({
        design,
        dataset,
        slope: fit.slope,
        intercept: fit.intercept,
        r2: Number.isFinite(fit.r2) ? fit.r2 : null,
        n: fit.n,
        ci95: fit.ci95,
        xRange: [Math.min(...xs), Math.max(...xs)],
        band: lineBand(fit, Math.min(...xs), Math.max(...xs)),
      });
    }
  }
  return { lines, records };
}
