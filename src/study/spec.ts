// The study spec: a YAML/JSON file naming the data designs, sizes, model, training budget, seeds, evaluation
// suite and analysis. Owns the zod schema, the reader, and the cross-entry checks run before any job starts.
import { readFileSync } from 'node:fs';
import { dirname, isAbsolute, resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { InputError } from '../util/errors.js';

const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;
const name = z.string().regex(NAME, 'expected a name of letters, digits, ".", "_" or "-"');
const fraction = z.number().gt(0).max(1);
const proportions = z.record(z.string(), z.number().min(0).max(1));
/** A seed as `cliplab train --seed` takes it: checked here, so a bad one fails before any job runs. */
const seed = z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER);
const seeds = z
  .array(seed)
  .min(1)
  .refine((a) => new Set(a).size === a.length, { message: 'a seed is listed twice' });

/** Build the built-in emoji testbed under OUT/testbed (knobs of `cliplab testbed build`). */
const TestbedSchema = z.strictObject({
  concepts: z.number().int().positive().optional(),
  image_size: z.number().int().min(8).optional(),
  misaligned: z.number().min(0).lt(1).optional(),
  views: z.number().int().positive().optional(),
  eval_views: z.number().int().positive().optional(),
  eval_views_full: z.number().int().positive().optional(),
  seed: seed.optional(),
  /** Also build `<reference>-corrupted`: ImageNet-C corruptions of the reference at this severity. */
  corruption_severity: z.number().int().min(1).max(5).optional(),
});

/** A training-set size: how many pairs the built dataset holds, and how many samples training sees. */
const SizeSchema = z
  .strictObject({
    name,
    /** Fraction of the design's pool (a source's pairs; for a mixture, of its smallest source's pairs ÷ share). */
    fraction: fraction.optional(),
    /** Absolute number of pairs. */
    count: z.number().int().positive().optional(),
    /** Training budget in samples seen. */
    samples: z.number().int().positive().optional(),
    /** Or epochs over the built dataset. */
    epochs: z.number().positive().optional(),
  })
  .refine((s) => (s.fraction === undefined) !== (s.count === undefined), { message: 'give exactly one of fraction or count' })
  .refine((s) => (s.samples === undefined) !== (s.epochs === undefined), { message: 'give exactly one of samples or epochs' });

const FilterSchema = z
  .strictObject({
    /** The source to filter. */
    source: name,
    /** The filter model: a design of this study (its model at `size`, seed `seed`) or a checkpoint/run path. */
    model: z.string().min(1),
    size: name.optional(),
    seed: seed.optional(),
    /** Keep pairs with CLIP score ≥ threshold … */
    threshold: z.number().min(-1).max(1).optional(),
    /** … or the top fraction by score. */
    fraction: fraction.optional(),
  })
  .refine((f) => (f.threshold === undefined) !== (f.fraction === undefined), { message: 'give exactly one of threshold or fraction' });

const DesignBase = {
  name,
  /** Subset of the study's size names (default: all). */
  sizes: z.array(name).min(1).optional(),
  seeds: seeds.optional(),
};

const DesignSchema = z.union([
  z.strictObject({ ...DesignBase, source: name }),
  z.strictObject({ ...DesignBase, mix: z.union([z.literal('all'), proportions]) }),
  z.strictObject({ ...DesignBase, filter: FilterSchema }),
  /** Output mixing: the logits of other designs' models (same size and seed) averaged with these weights. */
  z.strictObject({ ...DesignBase, ensemble: proportions }),
]);

/** Shorthand: two sources at several ratios (share of the first), optionally with the matching ensembles. */
const MixtureSweepSchema = z.strictObject({
  sources: z.tuple([name, name]),
  ratios: z.array(z.number().min(0).max(1)).min(1),
  ensemble: z.boolean().optional(),
  sizes: z.array(name).min(1).optional(),
});

/** Slurm resources for one kind of job (`--executor slurm`); the command line's flags override them. */
const SlurmJobSchema = z.strictObject({
  partition: z.string().min(1).optional(),
  gpus: z.number().int().nonnegative().optional(),
  cpus: z.number().int().positive().optional(),
  mem: z.string().regex(/^\d+[KMGT]?$/i, 'expected Slurm memory such as 16G').optional(),
  time: z.string().regex(/^(\d+-)?\d+(:\d+){0,2}$/, 'expected a Slurm time such as 4:00:00 or 1-00:00:00').optional(),
  nodes: z.number().int().positive().optional(),
  tasks_per_node: z.number().int().positive().optional(),
  sbatch_args: z.array(z.string()).optional(),
});

const ModelSchema = z.union([z.string().min(1), z.record(z.string(), z.unknown())]);

export const StudySpecSchema = z.strictObject({
  name: name.optional(),
  description: z.string().optional(),
  /** Build the built-in testbed (its six sources and eval sets) … */
  testbed: TestbedSchema.optional(),
  /** … or use an already built testbed / data root (sources under sources/<name>/, eval sets under eval/). */
  data_root: z.string().min(1).optional(),
  /** Extra or replacement sources: name → shard directory. */
  sources: z.record(name, z.string().min(1)).optional(),
  /** Model: an OpenCLIP config name, a config JSON path, or an inline config object (default with train.init: its config). */
  model: ModelSchema.optional(),
  train: z
    .strictObject({
      /** Fine-tune every design from this checkpoint (file or run directory) instead of a random init. */
      init: z.string().min(1).optional(),
      /** Freeze a tower while fine-tuning. */
      lock_image: z.boolean().optional(),
      lock_text: z.boolean().optional(),
      batch_size: z.number().int().positive().optional(),
      lr: z.number().positive().optional(),
      threads: z.number().int().positive().optional(),
      /** cliplab (this engine) or openclip (OpenCLIP's trainer, `cliplab train --engine openclip`). */
      engine: z.enum(['cliplab', 'openclip']).optional(),
      /** openclip: processes per node and nodes (with --executor slurm, the job's tasks and nodes). */
      nproc_per_node: z.number().int().positive().optional(),
      nnodes: z.number().int().positive().optional(),
      precision: z.string().min(1).optional(),
      python: z.string().min(1).optional(),
      openclip_entry: z.string().min(1).optional(),
      extra_args: z.array(z.string()).optional(),
    })
    .optional(),
  sizes: z.array(SizeSchema).min(1),
  seeds: seeds.optional(),
  dataset_seed: seed.optional(),
  designs: z.array(DesignSchema).optional(),
  mixtures: z.array(MixtureSweepSchema).optional(),
  /** Models evaluated on the same suite and drawn on the same axes without being trained (analysis: points, not designs). */
  references: z.array(z.strictObject({ name, model: z.string().min(1) })).optional(),
  eval: z
    .strictObject({
      suite: z.string().min(1).optional(),
      templates: z.string().optional(),
      /** Also evaluate the suite's -full sets (every shared concept); their results go to results-full/. Default true. */
      full: z.boolean().optional(),
      batch_size: z.number().int().positive().optional(),
    })
    .optional(),
  /** Resources per job kind when the study runs with `--executor slurm`. */
  slurm: z.strictObject({ testbed: SlurmJobSchema, data: SlurmJobSchema, train: SlurmJobSchema, eval: SlurmJobSchema }).partial().optional(),
  analysis: z
    .strictObject({
      /** Design names whose models define the baseline line (default: the all-source mix if any, else pooled). */
      baseline: z.union([name, z.array(name).min(1)]).optional(),
      transform: z.enum(['probit', 'logit']).optional(),
      resamples: z.number().int().positive().optional(),
      /** The reference dataset (default: the suite's, e.g. imagenet-1k); CLIP_benchmark names work too. */
      reference: z.string().min(1).optional(),
    })
    .optional(),
});
export type StudySpec = z.infer<typeof StudySpecSchema>;
export type SizeSpec = z.infer<typeof SizeSchema>;
export type DesignSpec = z.infer<typeof DesignSchema>;
export type SlurmJobSpec = z.infer<typeof SlurmJobSchema>;

/** Where the spec came from, for error messages and for resolving relative paths. */
export interface LoadedSpec {
  spec: StudySpec;
  /** File path, or a label such as `built-in demo`. */
  where: string;
  /** Directory relative paths in the spec resolve against. */
  baseDir: string;
}

function pathOf(issuePath: readonly PropertyKey[], value: unknown): string {
  let cur: unknown = value;
  let out = '';
  for (const k of issuePath) {
    const entry = cur !== null && typeof cur === 'object' ? (cur as Record<PropertyKey, unknown>)[k] : undefined;
    if (typeof k === 'number') {
      const n = entry !== null && typeof entry === 'object' ? (entry as { name?: unknown }).name : undefined;
      out += typeof n === 'string' ? `[${k}](${n})` : `[${k}]`;
    } else out += out === '' ? String(k) : `.${String(k)}`;
    cur = entry;
  }
  return out || '(root)';
}

function unionMessage(issue: z.core.$ZodIssue): string {
  if (issue.code === 'invalid_union' && issue.path.length > 0) {
    const p = issue.path;
    if (p[0] === 'designs') return 'a design needs a name and exactly one of source, mix, filter or ensemble (and no unknown keys)';
  }
  return issue.message;
}

/** Validates a parsed spec value; InputError names `where` and the key path (designs by index and name). */
export function parseStudySpec(value: unknown, where: string, baseDir: string): LoadedSpec {
  const r = StudySpecSchema.safeParse(value);
  if (!r.success) {
    const issue = r.error.issues[0]!;
    throw new InputError(`${where}: ${pathOf(issue.path, value)}`, unionMessage(issue));
  }
  return { spec: r.data, where, baseDir };
}

/** Reads a study spec file (YAML or JSON by content). */
export function readStudySpec(file: string): LoadedSpec {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    throw new InputError(file, 'no such spec file');
  }
  let value: unknown;
  try {
    value = file.endsWith('.json') ? JSON.parse(text) : parseYaml(text);
  } catch (err) {
    throw new InputError(file, `not valid ${file.endsWith('.json') ? 'JSON' : 'YAML'}: ${(err as Error).message.split('\n')[0]}`);
  }
  return parseStudySpec(value, file, dirname(resolve(file)));
}

export function resolveSpecPath(loaded: LoadedSpec, p: string): string {
  return isAbsolute(p) ? p : resolve(loaded.baseDir, p);
}

/** A path-like filter model (rather than a design name): has a slash or a checkpoint suffix. */
export function looksLikePath(s: string): boolean {
  return s.includes('/') || s.endsWith('.safetensors') || s.endsWith('.pt');
}

