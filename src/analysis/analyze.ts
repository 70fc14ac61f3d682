// `analyze`: from result files to the robustness analysis — the study table, trend lines per design and
// shift, the baseline line, effective robustness per model and per design, then dilution and size scaling.
// Each stage lives in its own module; this file wires them and records what was done.
import type { LoadedResult } from '../eval/result.js';
import { packageVersion } from '../util/assets.js';
import { validateAgainst } from '../util/options.js';
import type { BaselineSpec } from './baseline.js';
import { baselineDesignsHint, fitBaseline } from './baseline-fit.js';
import { analyzeDilution, mixingCurves } from './dilution.js';
import { designRecords, modelRecords } from './effective-robustness.js';
import { type AnalysisContext, fitDesignLines } from './lines.js';
import { ANALYZE_OPTIONS, type AnalyzeOptions } from './options.js';
export type { AnalyzeOptions } from './options.js';
import type { Robustness } from './robustness-types.js';
import { analyzeSizeScaling } from './size-scaling.js';
import { AVERAGE, buildStudy, type Study } from './study.js';
import { type Transform, getTransform } from './transform.js';



function analysisNotes(t: Transform, study: Study, seed: number, resamples: number): string[] {
  return [
    `Accuracies are clamped to [1/(2n), 1 − 1/(2n)] (n = evaluation examples) before the ${t.name} transform.`,
    `Lines: least squares of ${t.name}(shift accuracy) on ${t.name}(reference accuracy) over a design's models; ` +
      `95% CIs from ${resamples} bootstrap resamples of the models (seed ${seed}).`,
    `"${AVERAGE}": each model's accuracies are averaged over the shifts (${study.shifts.join(', ')}) first, ` +
      `then compared with the baseline line fitted on the averaged accuracies.`,
    `Effective robustness = shift accuracy − baseline line's prediction at the model's reference accuracy (accuracy units).`,
    `Size scaling: shift accuracy regressed on reference accuracy and log10(training set size) together (transformed units); ` +
      `a size coefficient whose 95% CI holds 0 means more data moves models along the design's line.`,
  ];
}

/** Class count of the reference results (from `classes.count` or `per_class`), for chance; null when none says. */
function referenceClasses(results: LoadedResult[], reference: string): number | null {
  for (const { result } of results) {
    if (result.dataset !== reference) continue;
    const c = result.classes;
    if (typeof c === 'object' && c.count) return c.count;
    if (result.per_class) return Object.keys(result.per_class).length;
  }
  return null;
}

export function analyze(results: LoadedResult[], opts: AnalyzeOptions = {}): Robustness {
  validateAgainst(ANALYZE_OPTIONS, opts);
  const t = getTransform(opts.transform ?? 'probit');
  const spec: BaselineSpec = opts.baseline ?? { kind: 'default' };
  const seed = opts.seed ?? 0;
  const resamples = opts.resamples ?? 1000;
  const hint = baselineDesignsHint(results, spec);
  const study = buildStudy(results, { reference: opts.reference, baselineDesigns: hint, classes: opts.classes });
  const { lines, records } = fitDesignLines(study, t, seed, resamples);
  const baseline = fitBaseline(study, spec, hint, t, seed, resamples);
  const models = modelRecords(study, t, baseline.lines);
  const designs = designRecords(study, models, seed, resamples);
  const ctx: AnalysisContext = { study, t, lines, baseline: baseline.lines, seed, resamples };
  return {
    version: 1,
    generatedAt: new Date().toISOString(),
    transform: t.name,
    reference: study.reference,
    referenceClasses: referenceClasses(results, study.reference),
    shifts: study.shifts,
    averageDataset: AVERAGE,
    notes: analysisNotes(t, study, seed, resamples),
    baseline: {
      source: baseline.source,
      ...(baseline.designs ? { designs: baseline.designs } : {}),
      ...(spec.kind === 'file' ? { file: spec.file } : {}),
      lines: baseline.records,
    },
    lines: records,
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
    cliplabVersion: packageVersion(),
    ...(opts.samplesDir ? { samplesDir: opts.samplesDir } : {}),
  };
}

