// The options of `cliplab eval`, once: the model options every task shares, zero-shot classification's own and
// the other tasks'. The CLI's flags and the library's option types (ZeroShotEvalOptions, TaskModelOptions, …)
// derive from these tables.
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { InputError } from '../util/errors.js';
import { type OptionsOf, type ValueKind, choice, flag, int, list, num, option, text } from '../util/options.js';
import { ALPHA_MODES } from '../data/images/alpha.js';
import { canonicalDataset } from './dataset-names.js';
import { SUITES } from './suites.js';

export interface EnsembleEntry {
  /** Run directory or checkpoint. */
  path: string;
  weight: number;
}

export const TASKS = ['zeroshot-classification', 'retrieval', 'linear-probe', 'multilabel'] as const;
export type Task = (typeof TASKS)[number];

/** `RUN:w,RUN:w,…` (a path may itself hold ':'; the weight is after the last one). */
export function parseEnsemble(value: string): EnsembleEntry[] {
  const entries = value.split(',').map((s) => s.trim()).filter((s) => s !== '');
  if (entries.length === 0) throw new InputError('--ensemble', 'expected RUN:weight,RUN:weight,…');
  return entries.map((e) => {
    const at = e.lastIndexOf(':');
    const w = at > 0 ? Number(e.slice(at + 1)) : NaN;
    if (at <= 0 || e.slice(at + 1).trim() === '' || !Number.isFinite(w) || w < 0)
      throw new InputError('--ensemble', `'${e}': expected RUN:weight with a non-negative weight`);
    return { path: e.slice(0, at), weight: w };
  });
}

const ensembleKind: ValueKind<EnsembleEntry[]> = {
  schema: z.array(z.object({ path: z.string().min(1), weight: z.number().min(0).refine(Number.isFinite) })).min(1),
  want: 'RUN:weight,RUN:weight,…',
  fromText: parseEnsemble,
};

/** A JSON list of class names, read from the file the command line names. */
const classnamesFile: ValueKind<string[]> = {
  schema: z.array(z.string()).min(1),
  want: 'a JSON file with a list of class names',
  fromText: (file) => {
    let v: unknown;
    try {
      v = JSON.parse(readFileSync(file, 'utf8'));
    } catch (e) {
      throw new InputError(file, `cannot read class names (${(e as Error).message})`);
    }
    if (!Array.isArray(v) || v.length === 0 || v.some((x) => typeof x !== 'string')) throw new InputError(file, 'expected a JSON list of class names');
    return v as string[];
  },
};

/** Dataset names, ours or CLIP_benchmark's (`imagenet1k`, `imagenet_sketch`, …), as ours. */
const datasetList: ValueKind<string[]> = {
  ...list(text, { want: 'comma-separated dataset names' }),
  fromText: (t) => {
    const names = t.split(',').map((s) => canonicalDataset(s.trim())).filter((s) => s !== '');
    return names.length ? names : undefined;
  },
};

/** Options of every task: which model, how results are labelled, where they go, how the encoders run. */
export const EVAL_MODEL_OPTIONS = {
  model: option(text, { flag: '--model <path>', help: 'run directory or checkpoint (.safetensors, .pt, OpenCLIP/HF model directory)' }),
  modelConfig: option(text, { flag: '--model-config <config>', help: 'model config name or JSON when no config sits beside the checkpoint' }),
  out: option(text, { flag: '--out <path>', help: 'RESULT.json (one dataset) or a directory (one file per dataset)', required: true }),
  design: option(text, { flag: '--design <name>', help: 'design name for the results', defaultText: "from the run's params.json/summary.json" }),
  modelId: option(text, { flag: '--model-id <id>', help: 'model id for the results', defaultText: 'the run directory name' }),
  batchSize: option(int(1), { flag: '--batch-size <b>', help: 'images per encoder call', defaultText: '128' }),
  threads: option(int(1), { flag: '--threads <t>', help: 'ORT intra-op threads', defaultText: '2' }),
  decodeThreads: option(int(0), { flag: '--decode-threads <n>', help: 'image decode worker threads; 0 = main thread', defaultText: 'half the cores' }),
  device: option(choice(['cpu', 'cuda'] as const), { flag: '--device <d>', help: 'cpu|cuda', defaultText: 'cpu' }),
  alpha: option(choice(ALPHA_MODES), {
    flag: '--alpha <mode>',
    help: "transparent images: drop (the stored colours, alpha ignored: Pillow's convert('RGB'), as OpenCLIP) | white | black (flattened on that colour)",
    defaultText: 'drop',
  }),
} as const;

/** Zero-shot classification on a suite or an ImageFolder (`cliplab eval` without --task). */
export const ZERO_SHOT_OPTIONS = {
  suite: option(choice(SUITES), { flag: '--suite <name>', help: `evaluation suite: ${SUITES.join('|')} (needs --data-root)` }),
  dataRoot: option(text, { flag: '--data-root <dir>', help: 'testbed directory (testbed.json) or folder holding the ImageNet-suite sets' }),
  imagefolder: option(text, {
    flag: '--imagefolder <dir>', help: 'one ImageFolder (ROOT/<class>/<images>; class names from classes.json, classnames.json or the folder names)',
  }),
  datasets: option(datasetList, { flag: '--datasets <a,b>', help: "only these datasets of the suite (ours or CLIP_benchmark's names)" }),
  includeFull: option(flag, { flag: '--full', help: 'testbed: also evaluate the -full sets over every shared concept' }),
  headClassnames: option(classnamesFile, {
    flag: '--classnames <file>', help: 'ImageFolder: score against a head over these class names (JSON list, a superset of the folders)',
  }),
  templates: option(text, { flag: '--templates <t>', help: 'openai|simple|emoji|FILE', defaultText: 'emoji for the testbed, openai otherwise' }),
  ensemble: option(ensembleKind, { flag: '--ensemble <list>', help: 'output mixing: RUN:w,RUN:w,… (weighted mean of the members’ logits)' }),
  cacheDir: option(text, { flag: '--cache-dir <dir>', help: 'zero-shot head cache', defaultText: '.cliplab-cache/ beside the weights' }),
  cache: option(flag, { flag: '--no-cache', help: 'do not read or write cached zero-shot heads' }),
  mceBaseline: option(text, {
    flag: '--mce-baseline <file>', help: 'ImageNet-C: baseline errors for mCE (a cliplab imagenet-c result or {errors: {corruption: [5 errors]}, clean_error})',
  }),
} as const;

/** The tasks beside zero-shot classification. */
export const TASK_OPTIONS = {
  task: option(choice(TASKS), { flag: '--task <task>', help: TASKS.join('|'), defaultText: 'zeroshot-classification' }),
  images: option(text, { flag: '--images <dir>', help: 'retrieval, multilabel (COCO): the folder the captions/annotations file names images in' }),
  captions: option(text, { flag: '--captions <file>', help: 'retrieval: COCO captions JSON or Karpathy-split JSON' }),
  split: option(text, { flag: '--split <name>', help: 'retrieval (Karpathy format), multilabel (VOC): split to evaluate', defaultText: 'test' }),
  recallK: option(list(int(1)), { flag: '--recall-k <list>', help: 'retrieval: k values', defaultText: '1,5,10' }),
  annotations: option(text, { flag: '--annotations <file>', help: 'multilabel: COCO instances JSON (categories from its annotations; with --images)' }),
  voc: option(text, { flag: '--voc <dir>', help: 'multilabel: PASCAL VOC 2007 root (VOCdevkit/VOC2007), --split default test' }),
  train: option(text, { flag: '--train <dir>', help: 'linear-probe: training ImageFolder' }),
  test: option(text, { flag: '--test <dir>', help: 'linear-probe: test ImageFolder (same class folders)' }),
  valProportion: option(num('a share in [0, 1)', (v) => v >= 0 && v < 1), {
    flag: '--val-proportion <p>', help: 'linear-probe: share of train held out to pick the weight decay', defaultText: '0.2',
  }),
  seed: option(int(0), { flag: '--seed <s>', help: 'linear-probe: seed of the init, shuffles and split', defaultText: '0' }),
} as const;

export const EVAL_OPTIONS = { ...EVAL_MODEL_OPTIONS, ...ZERO_SHOT_OPTIONS, ...TASK_OPTIONS };

export type EvalModelOptions = OptionsOf<typeof EVAL_MODEL_OPTIONS>;
export type ZeroShotOptions = OptionsOf<typeof ZERO_SHOT_OPTIONS>;
export type EvalFlags = OptionsOf<typeof EVAL_OPTIONS>;
