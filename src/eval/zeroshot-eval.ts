// `evaluateZeroShot`: open the model (or ensemble members), resolve the suite's datasets, score each one and turn
// the scores into result records (CLIP_benchmark shape + provenance), optionally written under `out`.
import { availableParallelism, hostname } from 'node:os';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { packageVersion } from '../util/assets.js';
import { withDirLock } from '../util/dir-lock.js';
import { InputError } from '../util/errors.js';
import { findNonFinite, formatNonFinite } from '../util/finite.js';
import { DecodePool } from './decode.js';
import { aggregateImagenetC, IMAGENET_C, readCorruptionBaseline, type CorruptionBaseline, type CorruptionTable } from './imagenet-c.js';
import { classificationMetrics, type ClassificationMetrics } from './metrics.js';
import { openEvalModel, type EvalModel } from './model.js';
import type { EvalModelOptions, ZeroShotOptions } from './options.js';
import { DesignInfoSchema, parseResult, type Result } from './result.js';
import { classLogits, referenceOnSubset, scoreDataset, ZERO_SHOT_LOGIT_SCALE, type DatasetScores, type EnsembleMember } from './score.js';
import { hashClassnames, imageFolderSpec, imagenetSuite, testbedSuite, type DatasetSpec, type EvalClass } from './suites.js';
import { loadTemplates, type TemplateSet } from './templates.js';
import { writeResults } from './write.js';
import type { ZeroShotHead } from './zeroshot-head.js';

/** What `evaluateZeroShot` accepts: the option tables' values, plus what only in-process callers pass. */
export type ZeroShotEvalOptions = EvalModelOptions & ZeroShotOptions & {
  /** Pre-opened models (in-process callers, tests); used instead of `model` / `ensemble`. */
  members?: { model: EvalModel; weight: number }[];
  /** Result `design_info`; default the run's (single model) or the ensemble's members and weights. */
  designInfo?: Result['design_info'];
  onProgress?: (e: EvalProgress) => void;
  onWarning?: (msg: string) => void;
};

export type EvalProgress =
  | { kind: 'head'; model: string; done: number; total: number }
  | { kind: 'dataset'; dataset: string; total: number }
  | { kind: 'images'; dataset: string; n: number };

export interface ZeroShotEvalOutput {
  results: Result[];
  /** Files written (when `out` was given). */
  files: string[];
  warnings: string[];
}

function resolveSpecs(o: ZeroShotEvalOptions): DatasetSpec[] {
  if (o.imagefolder !== undefined) {
    if (o.suite !== undefined) throw new InputError('--imagefolder', 'give either --suite or --imagefolder, not both');
    return [imageFolderSpec(o.imagefolder, { headClassnames: o.headClassnames })];
  }
  if (o.suite === undefined) throw new InputError('eval', 'nothing to evaluate: give --suite testbed|imagenet with --data-root, or --imagefolder DIR');
  if (o.dataRoot === undefined) throw new InputError('--data-root', `the ${o.suite} suite needs --data-root DIR`);
  const so = { dataRoot: o.dataRoot, datasets: o.datasets, includeFull: o.includeFull };
  return o.suite === 'testbed' ? testbedSuite(so) : imagenetSuite(so);
}

/** Emoji templates for the testbed and for folders the testbed wrote (classes.json with hexcodes). */
function defaultTemplates(o: ZeroShotEvalOptions, specs: DatasetSpec[]): string {
  if (o.suite === 'testbed') return 'emoji';
  if (o.suite === 'imagenet') return 'openai';
  try {
    const v = JSON.parse(readFileSync(join(specs[0]!.root, 'classes.json'), 'utf8')) as { hexcode?: unknown }[];
    if (Array.isArray(v) && v.length > 0 && typeof v[0]?.hexcode === 'string') return 'emoji';
  } catch {
    // not a testbed folder
  }
  return 'openai';
}

function perClassRecord(classes: readonly EvalClass[], m: ClassificationMetrics): Record<string, number> {
  const counts = new Map<string, number>();
  for (const c of classes) counts.set(c.name, (counts.get(c.name) ?? 0) + 1);
  const out: Record<string, number> = {};
  for (const [i, [hit, total]] of m.perClass) {
    const c = classes[i]!;
    out[counts.get(c.name)! > 1 ? `${c.name} (${c.dir})` : c.name] = hit / total;
  }
  return out;
}

const metricsRecord = (m: ClassificationMetrics) => ({
  acc1: m.acc1,
  acc5: m.acc5,
  mean_per_class_recall: m.mean_per_class_recall,
  mean_average_precision: m.mean_average_precision,
  acc1_ci95: m.acc1_ci95,
  acc1_correct: m.correct1,
  acc5_correct: m.correct5,
});

export interface Identity {
  model: string;
  design: string;
  samplesSeen: number;
  seed: number;
  designInfo?: Result['design_info'];
  pretrained: string;
  provenance: Record<string, unknown>;
}

export function identity(o: Pick<ZeroShotEvalOptions, 'modelId' | 'design'>, members: EnsembleMember[], warn: (m: string) => void): Identity {
  const validInfo = (v: unknown, who: string): Result['design_info'] => {
    if (v === undefined) return undefined;
    const p = DesignInfoSchema.safeParse(v);
    if (!p.success) warn(`${who}: design_info in the run's params.json/summary.json does not match the result schema; left out`);
    return p.success ? p.data : undefined;
  };
  const memberProv = members.map((m) => ({
    model: m.model.id,
    weight: m.weight,
    path: m.model.info.path,
    weights_file: m.model.info.file,
    weights_sha256: m.model.info.sha256,
    run_dir: m.model.info.runDir,
    design: m.model.info.design,
    samples_seen: m.model.info.samplesSeen,
    seed: m.model.info.seed,
    config: m.model.info.config,
  }));
  if (members.length === 1) {
    const m = members[0]!.model;
    const missing = (['samplesSeen', 'seed', 'design'] as const).filter((k) => m.info[k] === undefined && !(k === 'design' && o.design));
    if (missing.length)
      warn(`${m.info.path}: no ${missing.map((k) => ({ samplesSeen: 'samples_seen', seed: 'seed', design: 'design' })[k]).join(', ')} in the run's summary.json/params.json; results say ${missing.map((k) => (k === 'design' ? '"unknown"' : '0')).join(', ')} (listed under provenance.missing)`);
    const { model: _m, weight: _w, ...prov } = memberProv[0]!;
    return {
      model: o.modelId ?? m.id,
      design: o.design ?? m.info.design ?? 'unknown',
      samplesSeen: m.info.samplesSeen ?? 0,
      seed: m.info.seed ?? 0,
      designInfo: validInfo(m.info.designInfo, m.info.path),
      pretrained: m.info.file ?? m.info.path,
      provenance: { ...prov, ...(missing.length ? { missing: missing.map((k) => (k === 'samplesSeen' ? 'samples_seen' : k)) } : {}) },
    };
  }
  const label = members.map((m) => `${m.model.id}:${+m.weight.toFixed(4)}`).join(',');
  const seeds = new Set(members.map((m) => m.model.info.seed ?? 0));
  const sources: Record<string, number> = {};
  for (const m of members) {
    const k = m.model.info.design ?? m.model.id;
    sources[k] = (sources[k] ?? 0) + m.weight;
  }
  return {
    model: o.modelId ?? `ensemble(${label})`,
    design: o.design ?? `ensemble(${members.map((m) => `${m.model.info.design ?? m.model.id}:${+m.weight.toFixed(4)}`).join(',')})`,
    samplesSeen: members.reduce((s, m) => s + (m.model.info.samplesSeen ?? 0), 0),
    seed: seeds.size === 1 ? [...seeds][0]! : 0,
    designInfo: {
      kind: 'ensemble',
      sources,
      members: members.map((m) => ({ model: m.model.id, weight: m.weight, ...(m.model.info.design ? { design: m.model.info.design } : {}) })),
    },
    pretrained: label,
    provenance: { ensemble: { mixing: 'weighted mean of logits (100 × cosine), no softmax', members: memberProv } },
  };
}

function toResult(s: DatasetScores, id: Identity, templates: TemplateSet, ref: DatasetScores | undefined, version: string): Result {
  const { spec } = s;
  if (s.n === 0) throw new InputError(spec.root, `no readable images: all ${s.nFiles} files failed to decode (first: ${s.skipped[0]?.file}: ${s.skipped[0]?.reason})`);
  const C = spec.classes.length;
  const logits = classLogits(s.headLogits, s.n, spec.headClassnames.length, spec.classes);
  const bad = findNonFinite(logits);
  if (bad) throw new InputError(spec.name, `logits of ${id.model} are not finite (${formatNonFinite(bad)}): no result is written`);
  const m = classificationMetrics(logits, s.labels, C);
  const names = spec.classes.map((c) => c.name);
  const result: Record<string, unknown> = {
    model: id.model,
    design: id.design,
    dataset: spec.name,
    task: 'zeroshot_classification',
    pretrained: id.pretrained,
    language: 'en',
    metrics: metricsRecord(m),
    n: s.n,
    n_files: s.nFiles,
    n_skipped: s.skipped.length,
    samples_seen: id.samplesSeen,
    seed: id.seed,
    ...(spec.suite ? { suite: spec.suite } : {}),
    ...(spec.reference !== undefined ? { reference: spec.reference } : {}),
    classes: { id: spec.classesId, count: C, hash: hashClassnames(names) },
    ...(id.designInfo ? { design_info: id.designInfo } : {}),
    per_class: perClassRecord(spec.classes, m),
    skipped: s.skipped.slice(0, 100),
    ...(s.ignoredDirs.length ? { ignored_folders: s.ignoredDirs.length } : {}),
  };
  // The reference distribution scored over this shift's class subset (ImageNet-R/-A: 200 classes, ObjectNet: 113).
  if (ref && ref !== s && !spec.reference && JSON.stringify(ref.spec.headClassnames) === JSON.stringify(spec.headClassnames) && ref.spec.classesId !== spec.classesId) {
    const sub = referenceOnSubset(ref, spec.classes);
    if (sub) {
      const rm = classificationMetrics(sub.logits, sub.labels, C);
      result.reference_subset = { dataset: ref.spec.name, classes: spec.classesId, n: sub.n, metrics: metricsRecord(rm) };
    }
  }
  result.provenance = {
    ...id.provenance,
    dataset_root: spec.root,
    templates: { name: templates.name, count: templates.templates.length, sha256_16: templates.hash },
    logit_scale: ZERO_SHOT_LOGIT_SCALE,
    border_crop: spec.borderCrop,
    // Image pass only (heads excluded): decode_wait_s is time the encoder sat waiting for decoded batches.
    timing: {
      seconds: +s.timing.seconds.toFixed(3),
      images_per_s: Math.round(s.nFiles / Math.max(s.timing.seconds, 1e-9)),
      decode_wait_s: +s.timing.decodeWait.toFixed(3),
      encode_s: +s.timing.encode.toFixed(3),
    },
    cliplab_version: version,
    created: new Date().toISOString(),
    host: hostname(),
  };
  parseResult(result, `result for ${id.model} on ${spec.name}`);
  return result as Result; // validated; keeps this field order in the file
}

/** The one `imagenet-c` result: every (corruption, severity) set's metrics, their means, and mCE with a baseline. */
function imagenetCResult(
  baseline: CorruptionBaseline | undefined,
  table: CorruptionTable,
  sets: DatasetSpec[],
  id: Identity,
  templates: TemplateSet,
  clean: Result | undefined,
  version: string,
): Result {
  const agg = aggregateImagenetC(table, { baseline, cleanAcc1: clean?.metrics.acc1 });
  const spec = sets[0]!;
  const result: Record<string, unknown> = {
    model: id.model,
    design: id.design,
    dataset: IMAGENET_C,
    task: 'zeroshot_classification',
    pretrained: id.pretrained,
    language: 'en',
    metrics: agg.metrics,
    n: agg.n,
    samples_seen: id.samplesSeen,
    seed: id.seed,
    suite: spec.suite,
    reference: false,
    classes: { id: spec.classesId, count: spec.classes.length, hash: hashClassnames(spec.classes.map((c) => c.name)) },
    ...(id.designInfo ? { design_info: id.designInfo } : {}),
    aggregate: `mean over ${agg.sets} sets (the benchmark's corruptions × severities present; extra corruptions reported, not averaged)`,
    ...(clean ? { clean_acc1: clean.metrics.acc1 } : {}),
    ...(agg.missing.length ? { missing_corruptions: agg.missing } : {}),
    ...(agg.mce_baseline ? { mce_baseline: agg.mce_baseline } : {}),
    corruptions: agg.corruptions,
    provenance: {
      ...id.provenance,
      dataset_root: join(spec.root, '..', '..'),
      templates: { name: templates.name, count: templates.templates.length, sha256_16: templates.hash },
      logit_scale: ZERO_SHOT_LOGIT_SCALE,
      cliplab_version: version,
      created: new Date().toISOString(),
      host: hostname(),
    },
  };
  parseResult(result, `result for ${id.model} on ${IMAGENET_C}`);
  return result as Result;
}

async function openMembers(o: ZeroShotEvalOptions): Promise<EnsembleMember[]> {
  if (o.members) return o.members;
  const entries = o.ensemble ?? (o.model !== undefined ? [{ path: o.model, weight: 1 }] : []);
  if (entries.length === 0) throw new InputError('--model', 'no model given (--model RUN|CKPT or --ensemble RUN:w,…)');
  const members: EnsembleMember[] = [];
  try {
    for (const e of entries) {
      const model = await openEvalModel({ path: e.path, config: o.modelConfig, threads: o.threads ?? 2, device: o.device, cacheDir: o.cache === false ? null : o.cacheDir, id: entries.length === 1 ? o.modelId : undefined });
      members.push({ model, weight: e.weight });
    }
  } catch (e) {
    for (const m of members) await m.model.release();
    throw e;
  }
  return members;
}

/** Evaluates; a directory `out` is held meanwhile (one writer per directory; a `.json` file is written atomically). */
export async function evaluateZeroShot(o: ZeroShotEvalOptions): Promise<ZeroShotEvalOutput> {
  if (o.out === undefined || /\.json$/i.test(o.out)) return evaluateLocked(o);
  return withDirLock(o.out, 'eval', () => evaluateLocked(o));
}

async function evaluateLocked(o: ZeroShotEvalOptions): Promise<ZeroShotEvalOutput> {
  const warnings: string[] = [];
  const warn = (m: string) => {
    warnings.push(m);
    o.onWarning?.(m);
  };
  const specs = resolveSpecs(o);
  const templates = loadTemplates(o.templates ?? defaultTemplates(o, specs));
  const given = o.members ?? o.ensemble;
  if (given) {
    const total = given.reduce((s, m) => s + m.weight, 0);
    if (given.some((m) => !(m.weight >= 0) || !Number.isFinite(m.weight)) || !(total > 0))
      throw new InputError('--ensemble', 'weights must be non-negative numbers with a positive sum');
  }
  const outputs = [...new Set(specs.map((s) => (s.corruption ? IMAGENET_C : s.name)))];
  if (o.out !== undefined && /\.json$/i.test(o.out) && outputs.length > 1)
    throw new InputError('--out', `${outputs.length} datasets give ${outputs.length} results (${outputs.join(', ')}); pass a directory`);
  const mceBaseline = o.mceBaseline !== undefined ? readCorruptionBaseline(o.mceBaseline) : undefined;
  const members = await openMembers(o);
  const total = members.reduce((s, m) => s + m.weight, 0);
  const mixed = members.map((m) => ({ model: m.model, weight: m.weight / total }));
  const pool = new DecodePool(o.decodeThreads ?? Math.max(1, Math.floor(availableParallelism() / 2)), o.alpha);
  const version = packageVersion();
  try {
    const id = identity(o, mixed, warn);
    if (o.designInfo) id.designInfo = DesignInfoSchema.parse(o.designInfo);
    id.provenance.alpha = pool.alpha;
    const heads = new Map<string, ZeroShotHead>();
    const ordered = [...specs.filter((s) => s.reference), ...specs.filter((s) => !s.reference)];
    let ref: DatasetScores | undefined;
    const results: Result[] = [];
    const corruptions: CorruptionTable = new Map();
    const corruptedSets: DatasetSpec[] = [];
    for (const spec of ordered) {
      const scores = await scoreDataset(spec, {
        members: mixed,
        templates,
        pool,
        batchSize: o.batchSize ?? 128,
        heads,
        onHeadProgress: (model, done, t) => o.onProgress?.({ kind: 'head', model, done, total: t }),
        onStart: (total) => o.onProgress?.({ kind: 'dataset', dataset: spec.name, total }),
        onImages: (n) => o.onProgress?.({ kind: 'images', dataset: spec.name, n }),
      });
      if (scores.skipped.length)
        warn(`${spec.name}: ${scores.skipped.length} of ${scores.nFiles} images unreadable, skipped (n = ${scores.n}); first: ${scores.skipped[0]!.file}: ${scores.skipped[0]!.reason}`);
      if (spec.reference) ref = scores;
      const r = toResult(scores, id, templates, ref, version);
      if (spec.corruption) {
        const bySev = corruptions.get(spec.corruption.name) ?? new Map();
        const m = r.metrics as Required<Result['metrics']>;
        bySev.set(spec.corruption.severity, { acc1: m.acc1, acc5: m.acc5, mean_per_class_recall: m.mean_per_class_recall, mean_average_precision: m.mean_average_precision, n: r.n });
        corruptions.set(spec.corruption.name, bySev);
        corruptedSets.push(spec);
      } else results.push(r);
    }
    if (corruptedSets.length) {
      const missing = aggregateImagenetC(corruptions).missing;
      if (missing.length) warn(`${IMAGENET_C}: incomplete (${missing.join(', ')} lack some of the five severities); its means are over the sets present`);
      results.push(imagenetCResult(mceBaseline, corruptions, corruptedSets, id, templates, results.find((x) => x.reference), version));
    }
    const files = o.out !== undefined ? await writeResults(o.out, results) : [];
    return { results, files, warnings };
  } finally {
    await pool.close();
    if (!o.members) for (const m of members) await m.model.release();
  }
}
