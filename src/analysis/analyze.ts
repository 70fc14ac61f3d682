// `analyze`: from result files to the robustness analysis — trend lines per design and shift, the
// baseline line, effective robustness per model and per design, then dilution and size scaling.
import { readFileSync } from 'node:fs';
import type { LoadedResult } from '../eval/result.js';
import { packageRoot } from '../util/assets.js';
import { InputError } from '../util/errors.js';
import { type BaselineSpec, readBaselineFile } from './baseline.js';
import { analyzeDilution, mixingCurves } from './dilution.js';
import type { BaselineLine, DesignRecord, LineRecord, ModelRecord, Robustness } from './robustness-types.js';
import { analyzeSizeScaling } from './size-scaling.js';
import { AVERAGE, buildStudy, type ModelRow, type Study } from './study.js';
import { type TransformName, type Transform, getTransform, transformAccuracy } from './transform.js';
import { type LineWithCi, type Point, fitLineWithCi, meanWithCi, seedFor } from './trend-line.js';

export interface AnalyzeOptions {
  reference?: string;
  /** Class subset to analyze when results cover several (see `classesKey`). */
  classes?: string;
  transform?: TransformName;
  baseline?: BaselineSpec;
  seed?: number;
  /** Bootstrap resamples (default 1000). */
  resamples?: number;
  /** The RESULTS arguments as given, recorded for provenance and for `serve` to re-read. */
  inputPaths?: string[];
  samplesDir?: string;
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

export function pointsOf(models: ModelRow[], dataset: string, t: Transform): Point[] {
  const pts: Point[] = [];
  for (const m of models) {
    const s = m.shifts.get(dataset);
    if (!s) continue;
    pts.push({ x: transformAccuracy(t, m.reference.acc, m.reference.n), y: transformAccuracy(t, s.acc, s.n) });
  }
  return pts;
}

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

function baselineDesignsHint(results: LoadedResult[], spec: BaselineSpec): string[] {
  if (spec.kind === 'designs') return spec.designs;
  if (spec.kind === 'default')
    return [...new Set(results.filter((r) => r.result.design_info?.kind === 'baseline').map((r) => r.result.design))];
  return [];
}

export function analyze(results: LoadedResult[], opts: AnalyzeOptions = {}): Robustness {
  const t = getTransform(opts.transform ?? 'probit');
  const spec = opts.baseline ?? { kind: 'default' };
  const seed = opts.seed ?? 0;
  const resamples = opts.resamples ?? 1000;
  const hint = baselineDesignsHint(results, spec);
  const study = buildStudy(results, { reference: opts.reference, baselineDesigns: hint, classes: opts.classes });
  const datasets = [...study.shifts, AVERAGE];

  // Trend lines per design and dataset.
  const lines: LineTable = new Map();
  const lineRecords: LineRecord[] = [];
  for (const design of study.designs) {
    const ms = study.models.filter((m) => m.design === design);
    for (const dataset of datasets) {
      const pts = pointsOf(ms, dataset, t);
      const fit = fitLineWithCi(pts, { seed: seedFor(seed, `${design}/${dataset}`), resamples });
      if (!fit) continue;
      lines.set(lineKey(design, dataset), fit);
      const xs = pts.map((p) => p.x);
      lineRecords.push({
        design,
        dataset,
        slope: fit.slope,
        intercept: fit.intercept,
        r2: Number.isFinite(fit.r2) ? fit.r2 : null,
        n: fit.n,
        ci95: fit.ci95,
        xRange: [Math.min(...xs), Math.max(...xs)],
      });
    }
  }

  // The baseline line per dataset.
  const baseline = new Map<string, { slope: number; intercept: number }>();
  const baselineLines: BaselineLine[] = [];
  let source: Robustness['baseline']['source'];
  let baselineDesigns: string[] | undefined;
  const fitBaseline = (dataset: string, pts: Point[]): void => {
    const fit = fitLineWithCi(pts, { seed: seedFor(seed, `baseline/${dataset}`), resamples });
    if (!fit) return;
    baseline.set(dataset, fit);
    const r2 = Number.isFinite(fit.r2) ? fit.r2 : null;
    baselineLines.push({ dataset, slope: fit.slope, intercept: fit.intercept, r2, n: fit.n, ci95: fit.ci95 });
  };
  if (spec.kind === 'file') {
    source = 'file';
    const content = readBaselineFile(spec.file, t);
    for (const dataset of datasets) {
      const line = content.lines.get(dataset);
      if (line) {
        baseline.set(dataset, line);
        baselineLines.push({ dataset, ...line, r2: null, n: null, ci95: null });
      } else if (content.points.has(dataset)) fitBaseline(dataset, content.points.get(dataset)!);
    }
    if (baseline.size === 0)
      throw new InputError(spec.file, `no baseline line for any of ${datasets.join(', ')}`);
  } else {
    if (spec.kind === 'designs') {
      for (const d of spec.designs)
        if (!study.designs.includes(d))
          throw new InputError('--baseline', `no models of design "${d}" (designs: ${study.designs.join(', ')})`);
      source = 'designs';
      baselineDesigns = spec.designs;
    } else if (hint.length > 0) {
      source = 'baseline-kind';
      baselineDesigns = hint.filter((d) => study.designs.includes(d));
    } else {
      source = 'pooled';
      baselineDesigns = study.designs;
    }
    const ms = study.models.filter((m) => baselineDesigns!.includes(m.design));
    for (const dataset of datasets) fitBaseline(dataset, pointsOf(ms, dataset, t));
  }

  // Effective robustness per model and dataset.
  const models: ModelRecord[] = [];
  for (const m of study.models) {
    for (const dataset of datasets) {
      const s = m.shifts.get(dataset);
      if (!s) continue;
      const line = baseline.get(dataset);
      const er = line ? effectiveRobustness(t, line, m.reference.acc, m.reference.n, s.acc) : null;
      models.push({
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

  // Per-design averages with a bootstrap CI over the design's models.
  const designs: DesignRecord[] = [];
  for (const design of study.designs) {
    for (const dataset of datasets) {
      const rows = models.filter((r) => r.design === design && r.dataset === dataset);
      if (rows.length === 0) continue;
      const ers = rows.map((r) => r.effectiveRobustness).filter((v): v is number => v !== null);
      const mean = (xs: number[]): number => xs.reduce((a, v) => a + v, 0) / xs.length;
      designs.push({
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

  const ctx: AnalysisContext = { study, t, lines, baseline, seed, resamples };
  const notes = [
    `Accuracies are clamped to [1/(2n), 1 − 1/(2n)] (n = evaluation examples) before the ${t.name} transform.`,
    `Lines: least squares of ${t.name}(shift accuracy) on ${t.name}(reference accuracy) over a design's models; ` +
      `95% CIs from ${resamples} bootstrap resamples of the models (seed ${seed}).`,
    `"${AVERAGE}": each model's accuracies are averaged over the shifts (${study.shifts.join(', ')}) first, ` +
      `then compared with the baseline line fitted on the averaged accuracies.`,
    `Effective robustness = shift accuracy − baseline line's prediction at the model's reference accuracy (accuracy units).`,
  ];
  return {
    version: 1,
    generatedAt: new Date().toISOString(),
    transform: t.name,
    reference: study.reference,
    shifts: study.shifts,
    averageDataset: AVERAGE,
    notes,
    baseline: {
      source,
      ...(baselineDesigns ? { designs: baselineDesigns } : {}),
      ...(spec.kind === 'file' ? { file: spec.file } : {}),
      lines: baselineLines,
    },
    lines: lineRecords,
    models,
    designs,
    designInfo: Object.fromEntries(study.designInfo),
    dilution: analyzeDilution(ctx),
    mixingCurves: mixingCurves(ctx, designs),
    sizeScaling: analyzeSizeScaling(ctx),
    warnings: study.warnings,
    seed,
    resamples,
    inputs: { paths: opts.inputPaths ?? [], files: study.files },
    options: { reference: opts.reference ?? null, classes: opts.classes ?? null, transform: t.name, baseline: spec, seed, resamples },
    modelInfo: study.models.map((m) => ({
      model: m.model,
      design: m.design,
      size: m.size,
      samplesSeen: m.samplesSeen,
      seed: m.seed,
      file: m.reference.file,
      ...(m.provenance ? { provenance: m.provenance } : {}),
    })),
    cliplabVersion: cliplabVersion(),
    ...(opts.samplesDir ? { samplesDir: opts.samplesDir } : {}),
  };
}

let version: string | undefined;
export function cliplabVersion(): string {
  if (version === undefined) {
    try {
      version = String((JSON.parse(readFileSync(`${packageRoot()}package.json`, 'utf8')) as { version?: string }).version ?? 'unknown');
    } catch {
      version = 'unknown';
    }
  }
  return version;
}
