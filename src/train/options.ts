// Training options: what `trainClip` accepts, OpenCLIP's defaults by model family, validation, and the
// resolved settings written to RUN/params.json (and checked again on --resume).
import { availableParallelism } from 'node:os';
import { resolve } from 'node:path';
import { InputError } from '../util/errors.js';
import type { Device } from '../runtime/index.js';
import type { ClipConfig } from '../models/config.js';
import { isResNetVision } from '../models/config.js';

export interface TrainOptions {
  /** Shard directories (or .tar / brace patterns / `::` lists), one per source. */
  data?: string[];
  /** Relative proportion of each source (mixed per sample); default equal. */
  proportions?: number[];
  /** Model config name (`ViT-Tiny-8-64`) or JSON file; default the config beside `init`. */
  model?: string;
  /** Run directory. */
  out: string;
  /** Samples per epoch (OpenCLIP's --train-num-samples); default the dataset's size. */
  samples?: number;
  /** Epochs; default 1. Total steps = epochs × ceil(samples / batchSize). */
  epochs?: number;
  /** Default 128. */
  batchSize?: number;
  /** Peak learning rate; default 5e-4. */
  lr?: number;
  /** Linear warmup steps; default 10% of the total steps (OpenCLIP: 10,000, sized for LAION runs). */
  warmup?: number;
  /** Default 0.2, on ≥2-D weights only (OpenCLIP's rule). */
  weightDecay?: number;
  beta1?: number;
  /** Default 0.98 for ViT, 0.999 for ResNet. */
  beta2?: number;
  /** Default 1e-6 for ViT, 1e-8 for ResNet. */
  eps?: number;
  /** Clip the global gradient norm to this value; default none. */
  gradClip?: number;
  /** Freeze the image tower (`visual.*`) / the text tower. */
  lockImage?: boolean;
  lockText?: boolean;
  /** RandomResizedCrop area range; default [0.9, 1] (OpenCLIP). */
  cropScale?: [number, number];
  /** Fine-tune from this checkpoint (file, or run directory) instead of OpenCLIP's initialization. */
  init?: string;
  /** Continue from RUN/checkpoints/latest.safetensors (starts fresh when there is none). */
  resume?: boolean;
  /** Seeds the initialization, the data order and the augmentation; default 0. */
  seed?: number;
  /** ORT intra-op threads; default ORT's choice (all cores). */
  threads?: number;
  /** Extra decode threads under the loader thread; default 0 on the CPU (the least CPU), cores − 2 with CUDA. */
  workers?: number;
  device?: Device;
  /** Let ORT's intra-op threads busy-wait between ops; default false (they would take cores from the loader). */
  spinning?: boolean;
  /** Also write checkpoints/latest every N steps; 0 = only at the end of each epoch. Default 200. */
  checkpointEvery?: number;
  /** Stop after this step as if interrupted (latest checkpoint written; resumable). For tests and budgets. */
  stopAfterStep?: number;
  /** Called after every step (progress bars). */
  onStep?: (s: StepLog) => void;
  /** Called once the plan is known, before the first step. */
  onStart?: (p: ResolvedParams, startStep: number) => void;
  /** Aborting stops after the current step with a latest checkpoint (resumable). */
  signal?: AbortSignal;
}

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

/** Every resolved setting (RUN/params.json). */
export interface ResolvedParams {
  version: 1;
  data: string[];
  proportions: number[];
  model: string;
  samples_per_epoch: number;
  epochs: number;
  batch_size: number;
  steps_per_epoch: number;
  total_steps: number;
  lr: number;
  warmup: number;
  schedule: 'cosine';
  weight_decay: number;
  beta1: number;
  beta2: number;
  eps: number;
  grad_clip: number | null;
  lock_image: boolean;
  lock_text: boolean;
  crop_scale: [number, number];
  init: string | null;
  seed: number;
  threads: number | null;
  workers: number;
  device: Device;
  spinning: boolean;
  checkpoint_every: number;
  dataset_size: number;
  source_sizes: number[];
}

/** Settings that define the result: a resumed run must keep them. */
export const RESULT_KEYS = [
  'data', 'proportions', 'samples_per_epoch', 'epochs', 'batch_size', 'lr', 'warmup', 'weight_decay', 'beta1', 'beta2', 'eps',
  'grad_clip', 'lock_image', 'lock_text', 'crop_scale', 'init', 'seed',
] as const satisfies readonly (keyof ResolvedParams)[];

export function familyDefaults(cfg: ClipConfig): { beta2: number; eps: number } {
  return isResNetVision(cfg.vision_cfg) ? { beta2: 0.999, eps: 1e-8 } : { beta2: 0.98, eps: 1e-6 };
}

function check(where: string, ok: boolean, want: string, got: unknown): void {
  if (!ok) throw new InputError(where, `expected ${want}, got ${JSON.stringify(got)}`);
}

const posInt = (v: number | undefined): boolean => v === undefined || (Number.isSafeInteger(v) && v >= 1);

/** Checks the numbers a caller gave (the CLI parses flags first; library callers get the same errors). */
export function validateOptions(o: TrainOptions): void {
  if (!o.out) throw new InputError('--out', 'a run directory is required');
  check('--batch-size', posInt(o.batchSize), 'a positive integer', o.batchSize);
  check('--samples', posInt(o.samples), 'a positive integer', o.samples);
  check('--epochs', posInt(o.epochs), 'a positive integer', o.epochs);
  check('--warmup', o.warmup === undefined || (Number.isSafeInteger(o.warmup) && o.warmup >= 0), 'an integer >= 0', o.warmup);
  check('--lr', o.lr === undefined || (Number.isFinite(o.lr) && o.lr >= 0), 'a learning rate >= 0', o.lr);
  check('--wd', o.weightDecay === undefined || (Number.isFinite(o.weightDecay) && o.weightDecay >= 0), 'a number >= 0', o.weightDecay);
  for (const [k, v] of [['--beta1', o.beta1], ['--beta2', o.beta2]] as const) check(k, v === undefined || (v >= 0 && v < 1), 'a number in [0, 1)', v);
  check('--eps', o.eps === undefined || (Number.isFinite(o.eps) && o.eps > 0), 'a positive number', o.eps);
  check('--grad-clip', o.gradClip === undefined || (Number.isFinite(o.gradClip) && o.gradClip > 0), 'a positive number', o.gradClip);
  check('--seed', o.seed === undefined || (Number.isSafeInteger(o.seed) && o.seed >= 0), 'an integer >= 0', o.seed);
  check('--threads', posInt(o.threads), 'a positive integer', o.threads);
  check('--workers', o.workers === undefined || (Number.isSafeInteger(o.workers) && o.workers >= 0), 'an integer >= 0', o.workers);
  check('--checkpoint-every', o.checkpointEvery === undefined || (Number.isSafeInteger(o.checkpointEvery) && o.checkpointEvery >= 0), 'an integer >= 0', o.checkpointEvery);
  if (o.device !== undefined && o.device !== 'cpu' && o.device !== 'cuda') throw new InputError('--device', `expected cpu|cuda, got '${String(o.device)}'`);
  if (o.cropScale) {
    const [a, b] = o.cropScale;
    check('--crop-scale', a > 0 && b <= 1 && a <= b, 'lo,hi with 0 < lo <= hi <= 1', o.cropScale);
  }
  if (o.data) {
    if (o.data.length === 0) throw new InputError('--data', 'at least one shard directory is needed');
    if (o.proportions) {
      if (o.proportions.length !== o.data.length)
        throw new InputError('--proportions', `${o.proportions.length} proportion(s) for ${o.data.length} data source(s)`);
      for (const p of o.proportions) check('--proportions', Number.isFinite(p) && p > 0, 'positive numbers', o.proportions);
    }
  } else if (o.proportions) {
    throw new InputError('--proportions', 'given without --data');
  }
  if (o.lockImage && o.lockText) throw new InputError('--lock-image/--lock-text', 'locking both towers leaves only logit_scale to train');
}

/** Fills in the defaults once the model and the dataset size are known. */
export function resolveParams(o: TrainOptions, cfg: ClipConfig, model: string, sourceSizes: number[]): ResolvedParams {
  const fam = familyDefaults(cfg);
  const batch = o.batchSize ?? 128;
  const datasetSize = sourceSizes.reduce((a, b) => a + b, 0);
  const samples = o.samples ?? datasetSize;
  const epochs = o.epochs ?? 1;
  const stepsPerEpoch = Math.ceil(samples / batch);
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
    init: o.init ? resolve(o.init) : null,
    seed: o.seed ?? 0,
    threads: o.threads ?? null,
    // On the CPU the step takes every core and the loader thread alone is cheapest; a GPU step leaves the
    // cores to the loader, which then needs them to keep up.
    workers: o.workers ?? ((o.device ?? 'cpu') === 'cuda' ? Math.max(1, availableParallelism() - 2) : 0),
    device: o.device ?? 'cpu',
    spinning: o.spinning ?? false,
    checkpoint_every: o.checkpointEvery ?? 200,
    dataset_size: datasetSize,
    source_sizes: sourceSizes,
  };
}

/** Options for a resumed run: unset ones come from the saved params; set ones must agree with them. */
export function mergeResumeOptions(o: TrainOptions, saved: ResolvedParams): TrainOptions {
  const merged: TrainOptions = {
    ...o,
    data: o.data ?? saved.data,
    proportions: o.proportions ?? (o.data ? undefined : saved.proportions),
    model: o.model ?? saved.model,
    samples: o.samples ?? saved.samples_per_epoch,
    epochs: o.epochs ?? saved.epochs,
    batchSize: o.batchSize ?? saved.batch_size,
    lr: o.lr ?? saved.lr,
    warmup: o.warmup ?? saved.warmup,
    weightDecay: o.weightDecay ?? saved.weight_decay,
    beta1: o.beta1 ?? saved.beta1,
    beta2: o.beta2 ?? saved.beta2,
    eps: o.eps ?? saved.eps,
    gradClip: o.gradClip ?? saved.grad_clip ?? undefined,
    lockImage: o.lockImage ?? saved.lock_image,
    lockText: o.lockText ?? saved.lock_text,
    cropScale: o.cropScale ?? saved.crop_scale,
    init: o.init ?? saved.init ?? undefined,
    seed: o.seed ?? saved.seed,
    threads: o.threads ?? saved.threads ?? undefined,
    workers: o.workers ?? saved.workers,
    device: o.device ?? saved.device,
    spinning: o.spinning ?? saved.spinning,
    checkpointEvery: o.checkpointEvery ?? saved.checkpoint_every,
  };
  return merged;
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
