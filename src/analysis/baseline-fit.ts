// The baseline line per dataset that effective robustness is measured against: read from a baseline
// file, or fitted on the chosen designs' models (explicit designs, designs of kind `baseline`, or all).
import type { LoadedResult } from '../eval/result.js';
import { InputError } from '../util/errors.js';
import { type BaselineSpec, readBaselineFile } from './baseline.js';
import { pointsOf } from './lines.js';
import type { BaselineLine, Robustness } from './robustness-types.js';
import { AVERAGE, type Study } from './study.js';
import type { Transform } from './transform.js';
import { seedFor } from '../util/seed.js';
import { type Point, fitLineWithCi } from './trend-line.js';

export interface FittedBaseline {
  lines: Map<string, { slope: number; intercept: number }>;
  records: BaselineLine[];
  source: Robustness['baseline']['source'];
  designs?: string[];
}

/** Designs that the baseline will be fitted on, known before the study table is built (it picks class subsets by them). */
export function baselineDesignsHint(results: LoadedResult[], spec: BaselineSpec): string[] {
  if (spec.kind === 'designs') return spec.designs;
  if (spec.kind === 'default')
    return [...new Set(results.filter((r) => r.result.design_info?.kind === 'baseline').map((r) => r.result.design))];
  return [];
}

export function fitBaseline(study: Study, spec: BaselineSpec, hint: string[], t: Transform, seed: number, resamples: number): FittedBaseline {
  const datasets = [...study.shifts, AVERAGE];
  const lines = new Map<string, { slope: number; intercept: number }>();
  const records: BaselineLine[] = [];
  const fit = (dataset: string, pts: Point[]): void => {
    const f = fitLineWithCi(pts, { seed: seedFor(seed, `baseline/${dataset}`), resamples });
    if (!f) return;
    lines.set(dataset, f);
    records.push({ dataset, slope: f.slope, intercept: f.intercept, r2: Number.isFinite(f.r2) ? f.r2 : null, n: f.n, ci95: f.ci95 });
  };
  if (spec.kind === 'file') {
    const content = readBaselineFile(spec.file, t);
    for (const dataset of datasets) {
      const line = content.lines.get(dataset);
      if (line) {
        lines.set(dataset, line);
        records.push({ dataset, ...line, r2: null, n: null, ci95: null });
      } else if (content.points.has(dataset)) fit(dataset, content.points.get(dataset)!);
    }
    if (lines.size === 0) throw new InputError(spec.file, `no baseline line for any of ${datasets.join(', ')}`);
    return { lines, records, source: 'file' };
  }
  let source: FittedBaseline['source'];
  let designs: string[];
  if (spec.kind === 'designs') {
    for (const d of spec.designs)
      if (!study.designs.includes(d)) throw new InputError('--baseline', `no models of design "${d}" (designs: ${study.designs.join(', ')})`);
    source = 'designs';
    designs = spec.designs;
  } else if (hint.length > 0) {
    source = 'baseline-kind';
    designs = hint.filter((d) => study.designs.includes(d));
  } else {
    source = 'pooled';
    designs = study.designs.filter((d) => study.designInfo.get(d)?.kind !== 'reference');
  }
  const ms = study.models.filter((m) => designs.includes(m.design));
  for (const dataset of datasets) fit(dataset, pointsOf(ms, dataset, t));
  return { lines, records, source, designs };
}
