// ImageNet-C in the ImageNet suite: the official layout (imagenet-c/<corruption>/<severity>/<wnid>/*) as one
// dataset per (corruption, severity), and their aggregate result — accuracy per corruption and severity, means
// over them, and the corruption error relative to a baseline model (Hendrycks & Dietterich 2019, mCE).
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { InputError } from '../util/errors.js';
import { listClassDirs } from './image-folder.js';

/** The 15 corruptions of the benchmark (noise, blur, weather, digital), in the paper's order. */
export const CORRUPTIONS = [
  'gaussian_noise', 'shot_noise', 'impulse_noise',
  'defocus_blur', 'glass_blur', 'motion_blur', 'zoom_blur',
  'snow', 'frost', 'fog', 'brightness',
  'contrast', 'elastic_transform', 'pixelate', 'jpeg_compression',
] as const;
/** The four held-out corruptions released beside them (reported apart; not in the means or mCE). */
export const EXTRA_CORRUPTIONS = ['speckle_noise', 'gaussian_blur', 'spatter', 'saturate'] as const;
export const ALL_CORRUPTIONS: readonly string[] = [...CORRUPTIONS, ...EXTRA_CORRUPTIONS];
export const SEVERITIES = [1, 2, 3, 4, 5] as const;

export const IMAGENET_C = 'imagenet-c';
export const IMAGENET_C_FOLDERS = ['imagenet-c', 'ImageNet-C', 'imagenet_c'];

export interface CorruptionSet {
  corruption: string;
  severity: number;
  dir: string;
}

/** The (corruption, severity) folders under an ImageNet-C root; unknown corruption names are an error. */
export function listImagenetC(root: string): CorruptionSet[] {
  const sets: CorruptionSet[] = [];
  for (const corruption of listClassDirs(root)) {
    if (!ALL_CORRUPTIONS.includes(corruption))
      throw new InputError(join(root, corruption), `not an ImageNet-C corruption (expected one of ${ALL_CORRUPTIONS.join(', ')})`);
    const sev = listClassDirs(join(root, corruption));
    const bad = sev.find((s) => !/^[1-5]$/.test(s));
    if (bad !== undefined) throw new InputError(join(root, corruption, bad), 'not a severity folder (expected 1 … 5)');
    if (sev.length === 0) throw new InputError(join(root, corruption), 'no severity folders (expected 1 … 5)');
    for (const s of sev) sets.push({ corruption, severity: Number(s), dir: join(root, corruption, s) });
  }
  if (sets.length === 0) throw new InputError(root, `no corruption folders (expected ${CORRUPTIONS[0]}/1/<wnid>/…)`);
  return sets;
}

export interface SetMetrics {
  acc1: number;
  acc5: number;
  mean_per_class_recall: number;
  mean_average_precision: number;
  n: number;
}

/** Per corruption: severity → metrics of that set. */
export type CorruptionTable = Map<string, Map<number, SetMetrics>>;

/** Errors of a baseline model per corruption and severity (1 − top-1), and its clean error when known. */
export interface CorruptionBaseline {
  name: string;
  errors: Record<string, number[]>;
  cleanError?: number;
}

const mean = (xs: number[]): number => xs.reduce((a, b) => a + b, 0) / xs.length;

/**
 * The aggregate: means over the benchmark's corruptions and severities present (each set weighs the same),
 * the per-corruption rows, and with a baseline CE_c = Σ_s E_{s,c} / Σ_s E^base_{s,c},
 * mCE = mean_c CE_c; relative CE_c = Σ_s (E_{s,c} − E_clean) / Σ_s (E^base_{s,c} − E^base_clean).
 */
export function aggregateImagenetC(table: CorruptionTable, opts: { baseline?: CorruptionBaseline; cleanAcc1?: number } = {}) {
  const standard = CORRUPTIONS.filter((c) => table.has(c));
  const sets = standard.flatMap((c) => [...table.get(c)!.values()]);
  const metricMean = (k: keyof SetMetrics): number => mean(sets.map((m) => m[k]));
  const corruptions: Record<string, unknown> = {};
  const ce: number[] = [];
  const rce: number[] = [];
  const b = opts.baseline;
  for (const [c, bySev] of [...table].sort((x, y) => ALL_CORRUPTIONS.indexOf(x[0]) - ALL_CORRUPTIONS.indexOf(y[0]))) {
    const sevs = [...bySev.keys()].sort((x, y) => x - y);
    const row: Record<string, unknown> = {
      mean_acc1: mean(sevs.map((s) => bySev.get(s)!.acc1)),
      severities: Object.fromEntries(sevs.map((s) => [String(s), bySev.get(s)!])),
      ...(EXTRA_CORRUPTIONS.includes(c as never) ? { extra: true } : {}),
    };
    const berr = b?.errors[c];
    if (b && berr && (CORRUPTIONS as readonly string[]).includes(c)) {
      const err = sevs.map((s) => 1 - bySev.get(s)!.acc1);
      const base = sevs.map((s) => berr[s - 1]);
      if (base.every((e): e is number => typeof e === 'number' && e > 0)) {
        row.ce = err.reduce((a, e) => a + e, 0) / base.reduce((a, e) => a + e, 0);
        ce.push(row.ce as number);
        if (opts.cleanAcc1 !== undefined && b.cleanError !== undefined) {
          const den = base.reduce((a, e) => a + (e - b.cleanError!), 0);
          if (den > 0) {
            row.relative_ce = err.reduce((a, e) => a + (e - (1 - opts.cleanAcc1!)), 0) / den;
            rce.push(row.relative_ce as number);
          }
        }
      }
    }
    corruptions[c] = row;
  }
  const metrics: Record<string, number> = {
    acc1: metricMean('acc1'),
    acc5: metricMean('acc5'),
    mean_per_class_recall: metricMean('mean_per_class_recall'),
    mean_average_precision: metricMean('mean_average_precision'),
  };
  if (ce.length) metrics.mCE = mean(ce);
  if (rce.length) metrics.relative_mCE = mean(rce);
  return {
    metrics,
    n: sets.reduce((a, m) => a + m.n, 0),
    sets: sets.length,
    /** Benchmark corruptions absent here (means and mCE are over the rest). */
    missing: CORRUPTIONS.filter((c) => !table.has(c) || table.get(c)!.size < SEVERITIES.length).map((c) => c),
    corruptions,
    ...(b ? { mce_baseline: { name: b.name, corruptions: ce.length, ...(rce.length ? { relative: true } : {}) } } : {}),
  };
}

/**
 * A baseline for mCE: a cliplab ImageNet-C result (its corruptions' severities' acc1, and `clean_acc1` when
 * it has one), or a table `{name?, errors: {corruption: [E_1 … E_5]}, clean_error?}` (errors as fractions).
 */
export function readCorruptionBaseline(file: string): CorruptionBaseline {
  if (!existsSync(file)) throw new InputError(file, 'no such baseline file');
  let v: Record<string, unknown>;
  try {
    v = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
  } catch (e) {
    throw new InputError(file, `not valid JSON (${(e as Error).message})`);
  }
  const frac = (x: unknown): x is number => typeof x === 'number' && x >= 0 && x <= 1;
  if (v !== null && typeof v === 'object' && v.dataset === IMAGENET_C && typeof v.corruptions === 'object' && v.corruptions) {
    const errors: Record<string, number[]> = {};
    for (const [c, row] of Object.entries(v.corruptions as Record<string, { severities?: Record<string, { acc1?: unknown }> }>)) {
      const sev = row.severities ?? {};
      errors[c] = SEVERITIES.map((s) => (frac(sev[String(s)]?.acc1) ? 1 - (sev[String(s)]!.acc1 as number) : NaN));
    }
    const clean = (v as { clean_acc1?: unknown }).clean_acc1;
    return { name: String(v.model ?? file), errors, ...(frac(clean) ? { cleanError: 1 - clean } : {}) };
  }
  const errs = v?.errors;
  if (errs === null || typeof errs !== 'object' || Array.isArray(errs))
    throw new InputError(file, 'expected a cliplab imagenet-c result or {errors: {corruption: [E_1, …, E_5]}, clean_error?}');
  const errors: Record<string, number[]> = {};
  for (const [c, list] of Object.entries(errs as Record<string, unknown>)) {
    if (!ALL_CORRUPTIONS.includes(c)) throw new InputError(`${file}: errors.${c}`, 'not an ImageNet-C corruption');
    if (!Array.isArray(list) || list.length !== 5 || !list.every(frac)) throw new InputError(`${file}: errors.${c}`, 'expected five error rates in [0, 1] (severities 1 … 5)');
    errors[c] = list as number[];
  }
  if (v.clean_error !== undefined && !frac(v.clean_error)) throw new InputError(`${file}: clean_error`, 'expected an error rate in [0, 1]');
  return { name: typeof v.name === 'string' ? v.name : file, errors, ...(frac(v.clean_error) ? { cleanError: v.clean_error } : {}) };
}
