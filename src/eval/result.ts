// The evaluation result file: one JSON per (model, dataset) in CLIP_benchmark's shape plus provenance.
// Owns the zod schema, its type, and `readResults` (files or directories, validated, file named on error).
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { z } from 'zod';
import { InputError } from '../util/errors.js';
import { normalizeResult, parsePythonJson, type Defaulted, type DesignMap } from './clip-benchmark.js';

const fraction = z.number().min(0).max(1);

/** What data design a model was trained on; `analyze` uses it for dilution, filtering and size scaling. */
export const DesignInfoSchema = z.looseObject({
  /** source: one web source; mixture: several sources trained on together (input mixing);
   *  filtered: a source after filtering; ensemble: logits of per-source models mixed (output mixing);
   *  baseline: reference-trained models that define the baseline line;
   *  reference: a model evaluated as it is (e.g. CLIP on its original data): a point on the plots, no line. */
  kind: z.enum(['source', 'mixture', 'filtered', 'ensemble', 'baseline', 'reference']),
  /** Source name → proportion (mixture), weight (ensemble) or 1 (source, filtered). Normalized by readers. */
  sources: z.record(z.string(), z.number().nonnegative()),
  /** Training set size in image-text pairs (the x of size scaling). */
  size: z.number().positive().optional(),
  /** For kind 'filtered': how the source was filtered. */
  filter: z
    .looseObject({
      method: z.string(),
      threshold: z.number().optional(),
      fraction: z.number().min(0).max(1).optional(),
      model: z.string().optional(),
    })
    .optional(),
  /** For kind 'ensemble': the member models and their weights. */
  members: z.array(z.looseObject({ model: z.string(), design: z.string().optional(), weight: z.number() })).optional(),
});
export type DesignInfo = z.infer<typeof DesignInfoSchema>;

/** The evaluated class subset: an id (e.g. "testbed-100") or {id, count, hash of the sorted class list}. */
export const ClassesSchema = z.union([
  z.string().min(1),
  z.looseObject({ id: z.string().min(1), count: z.number().int().positive().optional(), hash: z.string().optional() }),
]);
export type Classes = z.infer<typeof ClassesSchema>;

export const ResultSchema = z.looseObject({
  /** Model id, unique across the study (e.g. "twemoji-s3-seed0"). */
  model: z.string().min(1),
  /** Data design name (e.g. "twemoji", "mix-twemoji50-noto50"). */
  design: z.string().min(1),
  /** Evaluation dataset name (e.g. "noto-v1"). */
  dataset: z.string().min(1),
  /** CLIP_benchmark's task name, "zeroshot_classification" here. */
  task: z.string().optional(),
  /** CLIP_benchmark's `pretrained` (checkpoint path or tag). */
  pretrained: z.string().optional(),
  language: z.string().optional(),
  metrics: z.looseObject({
    acc1: fraction,
    /** null where CLIP_benchmark wrote NaN (fewer than five classes). */
    acc5: fraction.nullable(),
    mean_per_class_recall: fraction,
    /** One-vs-rest mean average precision over the class scores (classification) or labels (multi-label). */
    mean_average_precision: fraction.optional(),
    /** 95% interval of acc1 (e.g. Wilson), optional. */
    acc1_ci95: z.tuple([fraction, fraction]).optional(),
  }),
  /** Number of evaluation examples. */
  n: z.number().int().positive(),
  /** Training samples seen by the model; null when unknown (results from other tools). */
  samples_seen: z.number().int().nonnegative().nullable(),
  seed: z.number().int(),
  /** Evaluation suite (e.g. "testbed", "imagenet"). */
  suite: z.string().optional(),
  /** True when `dataset` is the suite's reference distribution. */
  reference: z.boolean().optional(),
  classes: ClassesSchema.optional(),
  design_info: DesignInfoSchema.optional(),
  /** Class name → accuracy on that class. */
  per_class: z.record(z.string(), fraction).optional(),
  /** Free-form provenance: run dir, checkpoint hash, cliplab version, git commit, time, host. */
  provenance: z.record(z.string(), z.unknown()).optional(),
});
export type Result = z.infer<typeof ResultSchema>;

/** Tasks whose results carry acc1/acc5/mean_per_class_recall (what ResultSchema and analysis read). */
export const CLASSIFICATION_TASKS: readonly string[] = ['zeroshot_classification'];

export interface LoadedResult {
  /** Absolute path of the file it came from. */
  file: string;
  result: Result;
  /** Study fields the file lacked (CLIP_benchmark's results) and that were given defaults. */
  defaulted?: Defaulted[];
}

/** A comparable key for a class subset (hash when given, else id and count). */
export function classesKey(c: Classes | undefined): string | undefined {
  if (c === undefined) return undefined;
  if (typeof c === 'string') return c;
  return c.hash ?? (c.count !== undefined ? `${c.id}#${c.count}` : c.id);
}

function describeIssue(issue: z.core.$ZodIssue, value: unknown): string {
  const path = issue.path.map(String).join('.');
  let cur: unknown = value;
  for (const key of issue.path) {
    cur = cur !== null && typeof cur === 'object' ? (cur as Record<PropertyKey, unknown>)[key as PropertyKey] : undefined;
  }
  if (cur === undefined) return `missing field ${path}`;
  if (issue.code === 'too_big' && typeof cur === 'number' && cur > 1 && path.startsWith('metrics.'))
    return `field ${path} = ${cur} is not a fraction in [0, 1] (a percentage?)`;
  return `field ${path || '(root)'}: ${issue.message} (got ${JSON.stringify(cur)?.slice(0, 60)})`;
}

/** Validate one parsed JSON value as a result; throws InputError naming `file` and the field. */
export function parseResult(value: unknown, file: string): Result {
  const parsed = ResultSchema.safeParse(value);
  if (!parsed.success) throw new InputError(file, describeIssue(parsed.error.issues[0]!, value));
  return parsed.data;
}

function looksLikeResult(v: unknown): boolean {
  return v !== null && typeof v === 'object' && !Array.isArray(v) && ('metrics' in v || 'model' in v || 'dataset' in v);
}

function listJson(dir: string): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
    if (entry.name.startsWith('.')) continue;
    const p = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...listJson(p));
    else if (entry.isFile() && entry.name.endsWith('.json')) out.push(p);
  }
  return out;
}

export interface ReadResultsOptions {
  /** Called for JSON files inside directories that are not result files (skipped). */
  onSkip?: (file: string, reason: string) => void;
  /** Designs (and samples seen, seeds) for results that name none, as CLIP_benchmark's do. */
  designMap?: DesignMap;
}

/**
 * Read result files. Each path is a file or a directory searched recursively for `*.json`. Files named
 * directly must be results; inside directories, JSON that is not result-shaped (no model/dataset/metrics
 * key, e.g. a manifest or robustness.json) is skipped. Duplicate (model, dataset, class subset) triples
 * are rejected; one model may be evaluated on a dataset with several class subsets (e.g. 100 classes and all).
 */
export function readResults(paths: string[], opts: ReadResultsOptions = {}): LoadedResult[] {
  const files: { file: string; explicit: boolean }[] = [];
  for (const p of paths) {
    const abs = resolve(p);
    let st;
    try {
      st = statSync(abs);
    } catch {
      throw new InputError(p, 'no such file or directory');
    }
    if (st.isDirectory()) for (const f of listJson(abs)) files.push({ file: f, explicit: false });
    else files.push({ file: abs, explicit: true });
  }
  const seen = new Map<string, string>();
  const out: LoadedResult[] = [];
  for (const { file, explicit } of files) {
    if (seen.has(`file:${file}`)) continue;
    seen.set(`file:${file}`, file);
    let value: unknown;
    try {
      value = parsePythonJson(readFileSync(file, 'utf8'));
    } catch (err) {
      if (!explicit) {
        opts.onSkip?.(file, 'not valid JSON');
        continue;
      }
      throw new InputError(file, `not valid JSON (${(err as Error).message})`);
    }
    if (!explicit && (!looksLikeResult(value) || file.endsWith('robustness.json'))) {
      opts.onSkip?.(file, 'not a result file');
      continue;
    }
    const task = (value as { task?: unknown }).task;
    const m = (value as { metrics?: Record<string, unknown> }).metrics;
    if ((value as { multilabel?: unknown }).multilabel === true || (m && typeof m === 'object' && !('acc1' in m) && 'mean_average_precision' in m)) {
      // Multi-label results (CLIP_benchmark's too) carry mAP only; analysis reads top-1 accuracy.
      if (explicit) throw new InputError(file, 'a multi-label result (mAP only); analysis reads zero-shot classification accuracy');
      opts.onSkip?.(file, 'a multi-label result');
      continue;
    }
    if (typeof task === 'string' && !CLASSIFICATION_TASKS.includes(task)) {
      // Retrieval, multi-label and linear-probe results have other metrics; analysis reads classification only.
      if (explicit) throw new InputError(file, `a ${task} result; analysis reads zero-shot classification results`);
      opts.onSkip?.(file, `a ${task} result`);
      continue;
    }
    const normalized = normalizeResult(value, opts.designMap);
    const result = parseResult(normalized.value, file);
    const subset = classesKey(result.classes);
    const key = `${result.model}\u0000${result.dataset}\u0000${subset ?? ''}`;
    const prev = seen.get(key);
    if (prev !== undefined)
      throw new InputError(
        file,
        `model ${result.model} on ${result.dataset}${subset ? ` (classes ${subset})` : ''} is also in ${prev} (one result per model, dataset and class subset)`,
      );
    seen.set(key, file);
    out.push({ file, result, ...(normalized.defaulted.length ? { defaulted: normalized.defaulted } : {}) });
  }
  return out;
}
