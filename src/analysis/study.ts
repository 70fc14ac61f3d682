// Turns loaded result files into the study table: one row per model with its reference accuracy and its
// accuracy on each shift; picks the reference dataset; rejects inconsistent inputs naming the file.
import type { DesignInfo, LoadedResult, Result } from '../eval/result.js';
import { classesKey } from '../eval/result.js';
import { describeDefaults } from '../eval/clip-benchmark.js';
import { canonicalDataset } from '../eval/dataset-names.js';
import { InputError } from '../util/errors.js';

/** The pseudo-dataset holding each model's mean accuracy over all shifts. */
export const AVERAGE = 'average';

/** Default reference dataset of each evaluation suite. */
export const SUITE_REFERENCE: Record<string, string> = { testbed: 'noto-v1', imagenet: 'imagenet-1k' };

export interface Measurement {
  acc: number;
  n: number;
  file: string;
}

export interface ModelRow {
  model: string;
  design: string;
  info?: DesignInfo;
  /** null when the result does not say (CLIP_benchmark's). */
  samplesSeen: number | null;
  seed: number;
  /** Training set size: design_info.size, else samples seen; null when neither is known (no size analyses). */
  size: number | null;
  provenance?: Record<string, unknown>;
  reference: Measurement;
  /** Shift dataset → measurement; `average` is added when the model has every shift. */
  shifts: Map<string, Measurement>;
}

export interface Study {
  reference: string;
  /** Shift datasets, sorted; does not include `average`. */
  shifts: string[];
  models: ModelRow[];
  /** Design name → its design_info (first seen), if any model carried one. */
  designInfo: Map<string, DesignInfo>;
  designs: string[];
  warnings: string[];
  files: string[];
}

export interface StudyOptions {
  reference?: string;
  /** Designs whose class subset per dataset every other result must match. */
  baselineDesigns?: string[];
  /** Use results on this class subset (id, `id#count` or hash); default: the baseline's. */
  classes?: string;
}

function pickReference(results: LoadedResult[], datasets: Set<string>, explicit?: string): string {
  if (explicit !== undefined) {
    explicit = canonicalDataset(explicit);
    if (!datasets.has(explicit))
      throw new InputError('--reference', `no results on dataset "${explicit}" (have: ${[...datasets].sort().join(', ')})`);
    return explicit;
  }
  const flagged = new Set(results.filter((r) => r.result.reference === true).map((r) => r.result.dataset));
  if (flagged.size === 1) return [...flagged][0]!;
  if (flagged.size > 1)
    throw new InputError('results', `several datasets are flagged reference (${[...flagged].join(', ')}); pass --reference`);
  const suites = new Set(results.map((r) => r.result.suite).filter((s): s is string => s !== undefined));
  for (const s of suites) {
    const ref = SUITE_REFERENCE[s];
    if (ref !== undefined && datasets.has(ref)) return ref;
  }
  for (const ref of ['imagenet-1k', 'imagenet', 'noto-v1']) if (datasets.has(ref)) return ref;
  throw new InputError('results', `cannot tell the reference dataset among ${[...datasets].sort().join(', ')}; pass --reference`);
}

/**
 * Pick one class subset per dataset and one result per (model, dataset). The subset is `classes` when
 * given, else the one the baseline designs' results use (else all results'), the most frequent if several
 * (a warning names the choice). A model with no result on that subset — evaluated only on another one —
 * is rejected naming its file and the baseline model it disagrees with. Results without `classes` pass.
 */
export function selectClassSubsets(
  results: LoadedResult[],
  baselineDesigns: Set<string>,
  classes: string | undefined,
  warnings: string[],
): LoadedResult[] {
  const byDataset = new Map<string, LoadedResult[]>();
  for (const r of results) {
    const list = byDataset.get(r.result.dataset) ?? [];
    list.push(r);
    byDataset.set(r.result.dataset, list);
  }
  const out: LoadedResult[] = [];
  for (const [dataset, list] of [...byDataset].sort((a, b) => a[0].localeCompare(b[0]))) {
    const keyed = list.filter((r) => classesKey(r.result.classes) !== undefined);
    if (keyed.length === 0) {
      out.push(...list);
      continue;
    }
    let want = classes;
    if (want === undefined) {
      const pool = keyed.some((r) => baselineDesigns.has(r.result.design)) ? keyed.filter((r) => baselineDesigns.has(r.result.design)) : keyed;
      const counts = new Map<string, number>();
      for (const r of pool) counts.set(classesKey(r.result.classes)!, (counts.get(classesKey(r.result.classes)!) ?? 0) + 1);
      const ranked = [...counts].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]));
      want = ranked[0]![0];
      if (ranked.length > 1)
        warnings.push(`${dataset}: results on several class subsets (${ranked.map(([k, n]) => `${k}: ${n}`).join(', ')}); using "${want}" (choose with --classes)`);
    }
    const anchor =
      keyed.find((r) => baselineDesigns.has(r.result.design) && classesKey(r.result.classes) === want) ??
      keyed.find((r) => classesKey(r.result.classes) === want);
    const byModel = new Map<string, LoadedResult[]>();
    for (const r of list) byModel.set(r.result.model, [...(byModel.get(r.result.model) ?? []), r]);
    for (const rs of byModel.values()) {
      const match = rs.find((r) => classesKey(r.result.classes) === want) ?? rs.find((r) => r.result.classes === undefined);
      if (match) {
        out.push(match);
        continue;
      }
      const r = rs[0]!;
      const got = classesKey(r.result.classes)!;
      if (classes !== undefined) {
        warnings.push(`model ${r.result.model} has no result on ${dataset} with class subset "${classes}"; left out there`);
        continue;
      }
      const role = anchor && baselineDesigns.has(anchor.result.design) ? 'baseline model' : 'model';
      throw new InputError(
        r.file,
        `model ${r.result.model} was evaluated on ${dataset} with class subset "${got}" but ` +
          (anchor ? `${role} ${anchor.result.model} (${anchor.file}) used "${want}"` : `--classes asks for "${want}"`),
      );
    }
  }
  return out;
}

/** The weights a result was computed from (eval's sha256, or its ensemble members' joined); undefined when it does not say. */
function weightsOf(r: Result): string | undefined {
  const p = r.provenance;
  if (typeof p?.weights_sha256 === 'string') return p.weights_sha256;
  const members = (p?.ensemble as { members?: { weights_sha256?: unknown }[] } | undefined)?.members;
  if (Array.isArray(members) && members.length && members.every((m) => typeof m?.weights_sha256 === 'string'))
    return members.map((m) => m.weights_sha256 as string).join('+');
  return undefined;
}

/**
 * One model's results must come from one set of weights: an eval rerun after retraining overwrites only the
 * datasets it evaluates, and the old weights' results for the others would otherwise be analyzed as the new model's.
 */
function checkOneWeightsPerModel(results: LoadedResult[]): void {
  const first = new Map<string, { weights: string; file: string }>();
  const short = (w: string): string => w.split('+').map((h) => `${h.slice(0, 12)}…`).join('+');
  for (const { file, result } of results) {
    const weights = weightsOf(result);
    if (weights === undefined) continue;
    const prev = first.get(result.model);
    if (!prev) first.set(result.model, { weights, file });
    else if (prev.weights !== weights)
      throw new InputError(
        file,
        `model ${result.model} was evaluated from weights sha256 ${short(weights)} here but ${short(prev.weights)} in ${prev.file}; ` +
          `results of replaced weights are mixed in: evaluate the model again on every dataset or remove the stale files`,
      );
  }
}

export function buildStudy(results: LoadedResult[], opts: StudyOptions = {}): Study {
  if (results.length === 0) throw new InputError('results', 'no result files found');
  const warnings: string[] = [];
  const datasets = new Set(results.map((r) => r.result.dataset));
  if (datasets.has(AVERAGE))
    throw new InputError(results.find((r) => r.result.dataset === AVERAGE)!.file, `dataset name "${AVERAGE}" is reserved`);
  checkOneWeightsPerModel(results);
  const reference = pickReference(results, datasets, opts.reference);
  results = selectClassSubsets(results, new Set(opts.baselineDesigns ?? []), opts.classes, warnings);

  const designOf = new Map<string, { design: string; file: string }>();
  const designInfo = new Map<string, DesignInfo>();
  type PartialRow = Partial<ModelRow> & { shifts: Map<string, Measurement> };
  const rows = new Map<string, PartialRow>();
  for (const { file, result: r } of results) {
    const prev = designOf.get(r.model);
    if (prev && prev.design !== r.design)
      throw new InputError(file, `model ${r.model} has design "${r.design}" here but "${prev.design}" in ${prev.file}`);
    designOf.set(r.model, { design: r.design, file });
    if (r.design_info && !designInfo.has(r.design)) designInfo.set(r.design, r.design_info);
    const row: PartialRow = rows.get(r.model) ?? { model: r.model, design: r.design, shifts: new Map() };
    const m: Measurement = { acc: r.metrics.acc1, n: r.n, file };
    if (r.dataset === reference) {
      row.reference = m;
      row.samplesSeen = r.samples_seen;
      row.seed = r.seed;
      row.info = r.design_info;
      row.provenance = r.provenance;
      row.size = r.design_info?.size ?? r.samples_seen;
    } else row.shifts.set(r.dataset, m);
    rows.set(r.model, row);
  }
  const shifts = [...datasets].filter((d) => d !== reference).sort();
  if (shifts.length === 0) throw new InputError('results', `only the reference dataset ${reference} was evaluated; need shifts`);
  const models: ModelRow[] = [];
  for (const row of rows.values()) {
    if (!row.reference) {
      warnings.push(`model ${row.model} has no result on the reference ${reference}; left out`);
      continue;
    }
    const full = row as ModelRow;
    if (shifts.every((s) => full.shifts.has(s))) {
      const ms = shifts.map((s) => full.shifts.get(s)!);
      full.shifts.set(AVERAGE, {
        acc: ms.reduce((a, m) => a + m.acc, 0) / ms.length,
        n: Math.min(...ms.map((m) => m.n)),
        file: '(mean of shifts)',
      });
    } else warnings.push(`model ${row.model} lacks some shifts; it is left out of the average`);
    models.push(full);
  }
  models.sort((a, b) => a.design.localeCompare(b.design) || (a.size ?? Infinity) - (b.size ?? Infinity) || a.model.localeCompare(b.model));
  warnings.push(...describeDefaults(results));
  const unsized = models.filter((m) => m.size === null).map((m) => m.model);
  if (unsized.length)
    warnings.push(`size scaling leaves out ${unsized.length} models with no samples_seen or design_info.size: ${unsized.slice(0, 10).join(', ')}${unsized.length > 10 ? ', …' : ''}`);
  const designs = [...new Set(models.map((m) => m.design))].sort();
  return { reference, shifts, models, designInfo, designs, warnings, files: results.map((r) => r.file) };
}
