// Training options: the one table of `cliplab train`'s options (flags, library options and RUN/params.json
// derive from it), OpenCLIP's defaults by model family, and the resolved settings checked again on --resume.
import { availableParallelism } from 'node:os';
import { resolve } from 'node:path';
import { z } from 'zod';
import { InputError } from '../util/errors.js';
import {
  type OptionsOf, type ParamsOf, type ValueKind, choice, flag, int, list, num, option, resultParams, text, validateAgainst,
} from '../util/options.js';
import { ALPHA_MODES } from '../data/images/alpha.js';
import type { ClipConfig } from '../models/config.js';
import { isResNetVision } from '../models/config.js';

const unit = (n: number): boolean => n >= 0 && n < 1;

/** OpenCLIP v2.20's --precision choices. */
export const OPENCLIP_PRECISIONS = ['amp', 'amp_bf16', 'amp_bfloat16', 'bf16', 'fp16', 'pure_bf16', 'pure_fp16', 'fp32'] as const;

/** A RandomResizedCrop area range `lo,hi` with 0 < lo <= hi <= 1. */
const cropRange: ValueKind<[number, number]> = {
  schema: z.tuple([z.number(), z.number()]).refine(([a, b]) => a > 0 && b <= 1 && a <= b),
  want: 'lo,hi with 0 < lo <= hi <= 1',
  fromText: (t) => {
    const v = t.split(',').map((x) => (x.trim() === '' ? NaN : Number(x)));
    return v.length === 2 && v.every(Number.isFinite) ? [v[0]!, v[1]!] : undefined;
  },
};

/**
 * Every option of `cliplab train` / `trainClip`, once: kind, flag and help, stored key in RUN/params.json
 * and whether a resumed run must keep it (`result`). Defaults are filled in by `resolveParams`.
 */
export const TRAIN_OPTIONS = {
  data: option(list(text, { want: 'comma-separated shard directories' }), {
    flag: '--data <dirs>', help: 'shard directories, comma-separated (one source each); required unless --resume', param: 'data', result: true,
  }),
  proportions: option(list(num('a positive number', (n) => n > 0), { want: 'comma-separated positive numbers' }), {
    flag: '--proportions <a,b,…>', help: 'mixing proportions of the --data sources', defaultText: 'equal', param: 'proportions', result: true,
  }),
  model: option(text, { flag: '--model <name|json>', help: 'model config name or OpenCLIP JSON file', defaultText: 'the config beside --init', param: 'model' }),
  out: option(text, { flag: '--out <run>', help: 'run directory', required: true }),
  samples: option(int(1), {
    flag: '--samples <n>', help: "samples per epoch, OpenCLIP's --train-num-samples", defaultText: "the dataset's size", param: 'samples_per_epoch', result: true,
  }),
  epochs: option(int(1), { flag: '--epochs <n>', help: 'epochs; steps = epochs × ceil(samples / batch size)', defaultText: '1', param: 'epochs', result: true }),
  batchSize: option(int(1), { flag: '--batch-size <b>', help: 'batch size', defaultText: '128', param: 'batch_size', result: true }),
  accumSteps: option(int(1), {
    flag: '--accum-steps <k>',
    help: "gradient accumulation (OpenCLIP's --accum-freq): each step takes k batches of --batch-size, the loss over all k·b pairs, one AdamW update",
    defaultText: '1', param: 'accum_steps', result: true,
  }),
  lr: option(num('a learning rate >= 0', (n) => n >= 0), { flag: '--lr <x>', help: 'peak learning rate', defaultText: '5e-4', param: 'lr', result: true }),
  warmup: option(int(0), {
    flag: '--warmup <n>', help: 'linear warmup steps before the cosine decay', defaultText: '10% of the steps, at most 10,000', param: 'warmup', result: true,
  }),
  weightDecay: option(num('a number >= 0', (n) => n >= 0), { flag: '--wd <x>', help: 'AdamW weight decay on ≥2-D weights', defaultText: '0.2', param: 'weight_decay', result: true }),
  beta1: option(num('a number in [0, 1)', unit), { flag: '--beta1 <x>', help: 'AdamW beta1', defaultText: '0.9', param: 'beta1', result: true }),
  beta2: option(num('a number in [0, 1)', unit), { flag: '--beta2 <x>', help: 'AdamW beta2', defaultText: '0.98 ViT, 0.999 ResNet', param: 'beta2', result: true }),
  eps: option(num('a positive number', (n) => n > 0), { flag: '--eps <x>', help: 'AdamW epsilon', defaultText: '1e-6 ViT, 1e-8 ResNet', param: 'eps', result: true }),
  gradClip: option(num('a positive number', (n) => n > 0), {
    flag: '--grad-clip <x>', help: 'clip the global gradient norm', defaultText: 'off', param: 'grad_clip', result: true, nullable: true,
  }),
  lockImage: option(flag, { flag: '--lock-image', help: 'freeze the image tower (fine-tuning)', param: 'lock_image', result: true }),
  lockText: option(flag, { flag: '--lock-text', help: 'freeze the text tower (fine-tuning)', param: 'lock_text', result: true }),
  cropScale: option(cropRange, { flag: '--crop-scale <lo,hi>', help: 'RandomResizedCrop area range', defaultText: '0.9,1', param: 'crop_scale', result: true }),
  alpha: option(choice(ALPHA_MODES), {
    flag: '--alpha <mode>',
    help: "transparent images: drop (the stored colours, alpha ignored: Pillow's convert('RGB'), as OpenCLIP) | white | black (flattened on that colour)",
    defaultText: 'drop',
    param: 'alpha',
    result: true,
  }),
  init: option(text, {
    flag: '--init <ckpt>', help: 'start from this checkpoint (.safetensors or a torch.save .pt, OpenCLIP names; or a run directory)', param: 'init', result: true, nullable: true,
  }),
  resume: option(flag, { flag: '--resume', help: 'continue from RUN/checkpoints/latest.safetensors (settings from RUN/params.json)' }),
  seed: option(int(0), { flag: '--seed <s>', help: 'random seed', defaultText: '0', param: 'seed', result: true }),
  threads: option(int(1), { flag: '--threads <t>', help: 'ORT intra-op threads', defaultText: 'all cores', param: 'threads', nullable: true }),
  workers: option(int(0), {
    flag: '--workers <w>',
    help: 'extra decode threads for the data loader; 0 = decode on the loader thread itself (raise it when the step waits for data)',
    defaultText: '0 on cpu, cores − 2 with cuda',
    param: 'workers',
  }),
  device: option(choice(['cpu', 'cuda'] as const), { flag: '--device <d>', help: 'cpu|cuda', defaultText: 'cpu', param: 'device' }),
  spinning: option(flag, { flag: '--spin', help: "let ORT's threads busy-wait between ops", defaultText: "off: they would take the loader's cores", param: 'spinning' }),
  cpuArena: option(flag, {
    flag: '--no-arena',
    help: "ORT's CPU arena off: each step's memory goes back to the system, for the largest batch in a given memory (ViT-B-32: a sixth lower peak, up to a fifth slower)",
    param: 'cpu_arena',
  }),
  checkpointEvery: option(int(0), {
    flag: '--checkpoint-every <n>', help: 'also write checkpoints/latest every n steps; 0 = per epoch only', defaultText: '200', param: 'checkpoint_every',
  }),
  stopAfterStep: option(int(1), { flag: '--stop-after <n>', help: 'stop after step n with a resumable checkpoint (budgeted runs)' }),
  // The engine, and the settings of OpenCLIP's trainer (src/train/openclip): not part of cliplab's own params.
  engine: option(choice(['cliplab', 'openclip'] as const), {
    flag: '--engine <name>', help: "cliplab (this engine) or openclip (OpenCLIP's trainer: GPUs, torchrun/srun; docs/scale.md)", defaultText: 'cliplab',
  }),
  nprocPerNode: option(int(1), { flag: '--nproc-per-node <n>', help: 'openclip: processes per node (torchrun; srun inside a Slurm job)', defaultText: '1' }),
  nnodes: option(int(1), { flag: '--nnodes <m>', help: 'openclip: nodes', defaultText: '1' }),
  nodeRank: option(int(0), { flag: '--node-rank <r>', help: "openclip, several nodes without Slurm: this node's rank", defaultText: '0' }),
  masterAddr: option(text, { flag: '--master-addr <host>', help: 'openclip, several nodes: the rank-0 host', defaultText: '127.0.0.1; under Slurm the first node' }),
  masterPort: option(int(1), { flag: '--master-port <port>', help: 'openclip, several nodes: the rendezvous port', defaultText: '29500' }),
  python: option(text, { flag: '--python <path>', help: 'openclip: the Python that imports torch and open_clip', defaultText: 'python3' }),
  openclipEntry: option(text, {
    flag: '--openclip-entry <module|script>', help: 'openclip: the trainer, a module or a script run as is', defaultText: 'the trainer module of the OpenCLIP --python imports',
  }),
  precision: option(choice(OPENCLIP_PRECISIONS), { flag: '--precision <p>', help: `openclip: ${OPENCLIP_PRECISIONS.join('|')}`, defaultText: 'amp' }),
  dryRun: option(flag, { flag: '--dry-run', help: "openclip: print OpenCLIP's command and exit" }),
} as const;

/** Options only OpenCLIP's trainer takes (an error with `--engine cliplab`). */
export const OPENCLIP_ONLY = ['nprocPerNode', 'nnodes', 'nodeRank', 'masterAddr', 'masterPort', 'python', 'openclipEntry', 'precision', 'dryRun'] as const;

/** What `trainClip` accepts: the table's options (all optional but `out`) and the caller's hooks. */
export type TrainOptions = OptionsOf<typeof TRAIN_OPTIONS> & {
  out: string;
  /** Called after every step (progress bars). */
  onStep?: (s: StepLog) => void;
  /** Called once the plan is known, before the first step. */
  onStart?: (p: ResolvedParams, startStep: number) => void;
  /** Aborting stops after the current step with a latest checkpoint (resumable). */
  signal?: AbortSignal;
};

/** One line of RUN/log.jsonl. */
export interface StepLog {
  step: number;
  epoch: number;
  samples_seen: number;
  loss: number;
  lr: number;
  logit_scale: number;
  images_per_s: number;
  /** Time this step waited for its batch (0 when the loader kept ahead). */
  data_wait_ms: number;
}

/** Every resolved setting (RUN/params.json): the stored options with their defaults, and the plan. */
export type ResolvedParams = ParamsOf<typeof TRAIN_OPTIONS> & {
  version: 1;
  steps_per_epoch: number;
  total_steps: number;
  schedule: 'cosine';
  dataset_size: number;
  source_sizes: number[];
};

/** Settings that define the result: a resumed run must keep them. */
export const RESULT_KEYS = resultParams(TRAIN_OPTIONS) as (keyof ResolvedParams)[];

export function familyDefaults(cfg: ClipConfig): { beta2: number; eps: number } {
  return isResNetVision(cfg.vision_cfg) ? { beta2: 0.999, eps: 1e-8 } : { beta2: 0.98, eps: 1e-6 };
}

/** Checks the values a caller gave (the CLI reads flags through the same table; library callers get the same errors). */
export function validateOptions(o: TrainOptions): void {
  if (!o.out) throw new InputError('--out', 'a run directory is required');
  validateAgainst(TRAIN_OPTIONS, o);
  if (o.proportions && !o.data) throw new InputError('--proportions', 'given without --data');
  if (o.proportions && o.data && o.proportions.length !== o.data.length)
    throw new InputError('--proportions', `${o.proportions.length} proportion(s) for ${o.data.length} data source(s)`);
  if (o.lockImage && o.lockText) throw new InputError('--lock-image/--lock-text', 'locking both towers leaves only logit_scale to train');
}

/** Fills in the defaults once the model and the dataset size are known. */
export function resolveParams(o: TrainOptions, cfg: ClipConfig, model: string, sourceSizes: number[]): ResolvedParams {
  const fam = familyDefaults(cfg);
  const batch = o.batchSize ?? 128;
  const datasetSize = sourceSizes.reduce((a, b) => a + b, 0);
  const samples = o.samples ?? datasetSize;
  const epochs = o.epochs ?? 1;
  const accum = o.accumSteps ?? 1;
  // One step takes accum batches: steps per epoch count optimizer steps over k·b samples each.
  const stepsPerEpoch = Math.ceil(samples / (batch * accum));
  const total = epochs * stepsPerEpoch;
  const sum = (o.proportions ?? o.data!.map(() => 1)).reduce((a, b) => a + b, 0);
  return {
    version: 1,
    data: o.data!.map((d) => (d.includes('::') || d.includes('{') ? d : resolve(d))),
    proportions: (o.proportions ?? o.data!.map(() => 1)).map((p) => p / sum),
    model,
    samples_per_epoch: samples,
    epochs,
    batch_size: batch,
    accum_steps: accum,
    steps_per_epoch: stepsPerEpoch,
    total_steps: total,
    lr: o.lr ?? 5e-4,
    warmup: o.warmup ?? Math.min(10_000, Math.floor(total / 10)),
    schedule: 'cosine',
    weight_decay: o.weightDecay ?? 0.2,
    beta1: o.beta1 ?? 0.9,
    beta2: o.beta2 ?? fam.beta2,
    eps: o.eps ?? fam.eps,
    grad_clip: o.gradClip ?? null,
    lock_image: o.lockImage ?? false,
    lock_text: o.lockText ?? false,
    crop_scale: o.cropScale ?? [0.9, 1],
    alpha: o.alpha ?? 'drop',
    init: o.init ? resolve(o.init) : null,
    seed: o.seed ?? 0,
    threads: o.threads ?? null,
    // On the CPU the step takes every core and the loader thread alone is cheapest; a GPU step leaves the
    // cores to the loader, which then needs them to keep up.
    workers: o.workers ?? ((o.device ?? 'cpu') === 'cuda' ? Math.max(1, availableParallelism() - 2) : 0),
    device: o.device ?? 'cpu',
    spinning: o.spinning ?? false,
    cpu_arena: o.cpuArena ?? true,
    checkpoint_every: o.checkpointEvery ?? 200,
    dataset_size: datasetSize,
    source_sizes: sourceSizes,
  };
}

/**
 * Saved params of a run started before a setting existed, with that setting's value then. Before --alpha,
 * cliplab's engine flattened transparent images on white; OpenCLIP's trainer always dropped alpha.
 */
export function upgradeSavedParams(saved: ResolvedParams): ResolvedParams {
  const old = saved as Partial<ResolvedParams> & { engine?: string };
  return { ...saved, accum_steps: old.accum_steps ?? 1, cpu_arena: old.cpu_arena ?? true, alpha: old.alpha ?? (old.engine === 'openclip' ? 'drop' : 'white') };
}

/** Options for a resumed run: unset ones come from the saved params; set ones must agree with them. */
export function mergeResumeOptions(o: TrainOptions, saved: ResolvedParams): TrainOptions {
  const merged: Record<string, unknown> = { ...o };
  for (const [key, def] of Object.entries(TRAIN_OPTIONS)) {
    if (!def.param || merged[key] !== undefined) continue;
    const v = (saved as Record<string, unknown>)[def.param];
    if (v !== null && v !== undefined) merged[key] = v;
  }
  return merged as TrainOptions;
}

/** Throws naming the first result-defining setting that differs between the saved and the new params. */
export function checkResumeParams(now: ResolvedParams, saved: ResolvedParams, where: string): void {
  const close = (x: unknown, y: unknown): boolean =>
    Array.isArray(x) && Array.isArray(y) && x.length === y.length && x.every((v, i) => typeof v === 'number' && Math.abs(v - (y[i] as number)) <= 1e-9 * Math.max(1, Math.abs(v)));
  for (const k of RESULT_KEYS) {
    const a = JSON.stringify(saved[k]);
    const b = JSON.stringify(now[k]);
    if (a !== b && !close(saved[k], now[k])) throw new InputError(where, `--resume: ${k} was ${a} in this run, now ${b}; start a new --out or drop the conflicting flag`);
  }
}
