// The training program behind `cliplab train`, one file read top to bottom (nanoGPT style): setup, data,
// model, optimizer, loop, checkpoint. Everything it writes lives in the run directory (see docs/training.md).
import { existsSync, readFileSync, readdirSync, rmSync, appendFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { CliplabError, InputError } from '../util/errors.js';
import { withDirLock } from '../util/dir-lock.js';
import { writeFileAtomic, writeJsonAtomic } from '../util/fs.js';
import { cudaAvailable, type HostTensor } from '../runtime/index.js';
import { configJson, loadModelConfig, type ClipConfig } from '../models/config.js';
import { initClip } from '../models/clip.js';
import { loadClipModel, resolveWeightsFile, isTrainerKey } from '../models/load.js';
import { matchStateDict, writeCheckpoint } from '../models/checkpoint.js';
import { toFloat32, type NamedTensor } from '../models/safetensors.js';
import { readWeights } from '../models/weights.js';
import { StepRunner, scalarFeeds } from '../nn/step-runner.js';
import { adamwScalars, stateName } from '../nn/adamw.js';
import type { Batch, DataPosition } from '../data/loader/index.js';
import { PrefetchedBatches } from './prefetch.js';
import { buildTrainGraph, initialTrainState } from './train-graph.js';
import { expectedStateDict, NUM_BATCHES } from './state-dict.js';
import { cosineLr } from './schedule.js';
import { checkTrainData } from './data-check.js';
import { readTrainCheckpoint, writeTrainCheckpoint } from './run-checkpoint.js';
import {
  checkResumeParams, mergeResumeOptions, resolveParams, validateOptions,
  type ResolvedParams, type StepLog, type TrainOptions,
} from './options.js';

export type { TrainOptions, ResolvedParams, StepLog } from './options.js';

export interface TrainResult {
  run: string;
  /** Steps done in total (including those before a resume). */
  steps: number;
  samples_seen: number;
  final_loss: number | null;
  /** Seconds this invocation took, setup included. */
  wall_s: number;
  /** Seconds this invocation spent in the training loop (steps, data waits, checkpoints). */
  loop_s: number;
  /** Images per second over the steps this invocation ran (data loading included). */
  images_per_s: number;
  /** Seconds the loop waited for the data loader (the rest of the loop's time is the ORT step). */
  data_wait_s: number;
  /** Process CPU time (every thread: ORT, loader, main) per trained image, in ms: comparable under load. */
  cpu_ms_per_image: number;
  /** True when the run stopped early (stopAfterStep / signal) and can be resumed. */
  stopped: boolean;
  /** RUN/model.safetensors, or null when stopped early. */
  model: string | null;
}

/** The loss became NaN or infinite: training stops, the last good checkpoint stays as it was. */
export class NonFiniteLossError extends CliplabError {
  override name = 'NonFiniteLossError';
}

/** Paths inside a run directory (a contract: the study runner and `cliplab eval` read them). */
export function runPaths(run: string) {
  const ck = join(run, 'checkpoints');
  return {
    config: join(run, 'config.json'),
    params: join(run, 'params.json'),
    log: join(run, 'log.jsonl'),
    checkpoints: ck,
    latest: join(ck, 'latest.safetensors'),
    epoch: (n: number) => join(ck, `epoch_${n}.safetensors`),
    model: join(run, 'model.safetensors'),
    summary: join(run, 'summary.json'),
  };
}

const isTextTower = (name: string): boolean =>
  name === 'token_embedding.weight' || name === 'positional_embedding' || name === 'text_projection' || name.startsWith('transformer.') || name.startsWith('ln_final.');

/** Trains into `options.out`, holding it for the whole run (one writer per run directory). */
export async function trainClip(options: TrainOptions): Promise<TrainResult> {
  validateOptions(options);
  return withDirLock(options.out, 'train', () => trainLocked(options));
}

async function trainLocked(options: TrainOptions): Promise<TrainResult> {
  // ---------------------------------------------------------------- setup
  const t0 = performance.now();
  const run = resolve(options.out);
  const P = runPaths(run);
  let o = options;
  let saved: ResolvedParams | null = null;
  if (o.resume && existsSync(P.params)) {
    saved = JSON.parse(readFileSync(P.params, 'utf8')) as ResolvedParams;
    o = mergeResumeOptions({ ...o, model: o.model ?? P.config }, saved);
  }
  if (!o.resume && (existsSync(P.latest) || existsSync(P.model)))
    throw new InputError(run, 'already holds a training run; pass --resume to continue it, or choose a new --out');
  if (!o.data) throw new InputError('--data', 'required: one or more shard directories');
  if (o.device === 'cuda' && !(await cudaAvailable()))
    throw new InputError('--device cuda', "onnxruntime-node has no CUDA provider here (install with ONNXRUNTIME_NODE_INSTALL_CUDA=v12; see README 'GPU (CUDA)')");

  // Model config and starting weights (OpenCLIP init, or --init CKPT checked against the config).
  const { cfg, modelName, initWeights } = await resolveModel(o, !(o.resume && existsSync(P.latest)));
  if (saved && existsSync(P.config) && JSON.stringify(loadModelConfig(P.config)) !== JSON.stringify(cfg))
    throw new InputError(P.config, `--resume: --model ${o.model} differs from the config this run was started with`);

  // ---------------------------------------------------------------- data
  const sources = await checkTrainData(o.data, cfg.vision_cfg.image_size);
  const params = resolveParams(o, cfg, modelName, sources.map((s) => s.size));
  if (params.batch_size > params.dataset_size)
    throw new InputError('--batch-size', `${params.batch_size} is larger than the dataset (${params.dataset_size} samples in ${o.data.join(', ')})`);
  if (saved) checkResumeParams(params, saved, P.params);

  // ---------------------------------------------------------------- optimizer
  // AdamW inside the step graph (OpenCLIP's decay rule, logit-scale clamp, optional global-norm clipping); the
  // host feeds the per-step scalars (lr from cosineLr, bias corrections) in float64 as PyTorch computes them.
  const adamw = { beta1: params.beta1, beta2: params.beta2, eps: params.eps, weightDecay: params.weight_decay, clipGradNorm: params.grad_clip ?? undefined };
  const frozen = (n: string): boolean => (params.lock_image && n.startsWith('visual.')) || (params.lock_text && isTextTower(n));

  // ---------------------------------------------------------------- model
  const tg = buildTrainGraph(cfg, { batchSize: params.batch_size, adamw, frozen });
  const resuming = o.resume === true && existsSync(P.latest);
  let values = initWeights ?? (resuming ? new Map<string, Float32Array>() : initClip(cfg, params.seed));
  let moments: Map<string, Float32Array> | undefined;
  let numBatches = new Map<string, bigint>();
  let startStep = 0;
  let samplesSeen = 0;
  let position: DataPosition | undefined;
  if (resuming) {
    const ck = await readTrainCheckpoint(P.latest, cfg, tg.trainable);
    if (ck.trainer.seed !== params.seed) throw new InputError(P.latest, `seed ${ck.trainer.seed} differs from ${params.seed}`);
    ({ values, moments, numBatches } = ck);
    startStep = ck.trainer.step;
    samplesSeen = ck.trainer.samplesSeen;
    position = ck.trainer.position;
  }
  for (const [name] of expectedStateDict(cfg).shapes) if (name.endsWith(NUM_BATCHES) && !numBatches.has(name)) numBatches.set(name, 0n);
  // Frozen parameters are plain inputs of the step graph: fed every step, never updated.
  const frozenFeeds: Record<string, HostTensor> = {};
  for (const s of tg.ps.specs) if (s.trainable && frozen(s.name)) frozenFeeds[s.name] = { data: values.get(s.name)!, shape: s.shape };
  const runner = await StepRunner.create(tg.graph, initialTrainState(tg, values, moments), { threads: params.threads ?? undefined, device: params.device, spinning: params.spinning });

  // The run directory: config, every resolved setting, the log cut back to the checkpoint we resume from.
  await writeJsonAtomic(P.config, configJson(cfg));
  await writeJsonAtomic(P.params, params);
  await prepareRunDir(P, startStep);

  // The loader runs on its own thread, 3 batches ahead: ORT's run blocks this thread during each step.
  const loader = await PrefetchedBatches.open({
    sources: params.data.map((path, i) => ({ path, weight: params.proportions[i] })),
    batchSize: params.batch_size,
    imageSize: cfg.vision_cfg.image_size,
    contextLength: cfg.text_cfg.context_length,
    seed: params.seed,
    threads: params.workers,
    prefetchBatches: 3,
    scale: params.crop_scale,
    position,
  }, 3, { spinning: params.spinning, threads: params.threads }).catch(async (e: unknown) => {
    await runner.release();
    throw e;
  });

  // ---------------------------------------------------------------- checkpoint
  const keptNote = (): string => (existsSync(P.latest) ? `the last good checkpoint is ${P.latest}` : 'no checkpoint was written yet');
  const checkpoint = async (step: number, files: string[]): Promise<void> => {
    const state = new Map<string, Float32Array>();
    for (const s of tg.ps.specs) state.set(s.name, frozen(s.name) ? values.get(s.name)! : runner.get(s.name));
    // A finite loss at step k was computed before update k: check the updated weights before saving them.
    for (const p of tg.trainable)
      if (!state.get(p)!.every(Number.isFinite))
        throw new NonFiniteLossError(`training diverged: '${p}' became non-finite at step ${step}; stopped without saving, ${keptNote()}`);
    const m = new Map<string, Float32Array>();
    for (const p of tg.trainable) for (const k of ['m', 'v'] as const) m.set(stateName(k, p), runner.get(stateName(k, p)));
    const trainer = { step, epoch: Math.floor(step / params.steps_per_epoch), samplesSeen, position: position!, seed: params.seed };
    await writeTrainCheckpoint(files, { values: state, numBatches, moments: m, trainer }, cfg, modelName);
  };

  // ---------------------------------------------------------------- loop
  o.onStart?.(params, startStep);
  let lastLoss: number | null = null;
  let stopped = false;
  let stepsDone = startStep;
  let trainedImages = 0;
  let dataWaitS = 0;
  const tLoop = performance.now();
  const cpu0 = process.cpuUsage();
  let tPrev = tLoop;
  let next: Promise<Batch | null> = loader.next();
  next.catch(() => {});
  try {
    for (let step = startStep; step < params.total_steps; step++) {
      const tWait = performance.now();
      const batch = await next;
      const waitMs = performance.now() - tWait;
      dataWaitS += waitMs / 1000;
      if (!batch) throw new Error('data loader ended early');
      next = loader.next();
      next.catch(() => {});

      const lr = cosineLr(params.lr, params.warmup, params.total_steps, step);
      const B = params.batch_size;
      const out = await runner.step(
        {
          images: { data: batch.images, shape: [B, 3, cfg.vision_cfg.image_size, cfg.vision_cfg.image_size] },
          text: { data: batch.text, shape: [B, cfg.text_cfg.context_length] },
          ...scalarFeeds(adamwScalars(adamw, lr, step + 1)),
          ...frozenFeeds,
        },
        ['loss', 'forward.logit_scale'],
      );
      const loss = (out.loss!.data as Float32Array)[0]!;
      if (!Number.isFinite(loss)) {
        throw new NonFiniteLossError(
          `training diverged: loss is ${loss} at step ${step + 1} (lr ${lr.toPrecision(3)}); stopped without saving, ${keptNote()}. Try a lower --lr, a longer --warmup or --grad-clip`,
        );
      }
      for (const k of numBatches.keys()) numBatches.set(k, numBatches.get(k)! + 1n);
      samplesSeen += batch.n;
      trainedImages += batch.n;
      position = batch.position;
      lastLoss = loss;
      const now = performance.now();
      const entry: StepLog = {
        step: step + 1,
        epoch: Math.floor(step / params.steps_per_epoch) + 1,
        samples_seen: samplesSeen,
        loss,
        lr,
        logit_scale: (out['forward.logit_scale']!.data as Float32Array)[0]!,
        images_per_s: round(batch.n / ((now - tPrev) / 1000)),
        data_wait_ms: round(waitMs),
      };
      tPrev = now;
      appendFileSync(P.log, JSON.stringify(entry) + '\n');
      o.onStep?.(entry);

      const done = step + 1;
      stepsDone = done;
      stopped = done < params.total_steps && (done === o.stopAfterStep || o.signal?.aborted === true);
      if (done % params.steps_per_epoch === 0) await checkpoint(done, [P.epoch(done / params.steps_per_epoch), P.latest]);
      else if (stopped || (params.checkpoint_every > 0 && done % params.checkpoint_every === 0)) await checkpoint(done, [P.latest]);
      if (stopped) break;
    }
  } catch (e) {
    await runner.release();
    throw e;
  } finally {
    await next.catch(() => null);
    await loader.close();
  }

  // ---------------------------------------------------------------- final model and summary
  const loopS = (performance.now() - tLoop) / 1000;
  const cpu = process.cpuUsage(cpu0);
  let modelFile: string | null = null;
  const steps = stepsDone;
  if (!stopped) {
    const tensors = new Map<string, NamedTensor>();
    for (const [name, shape] of expectedStateDict(cfg).shapes) {
      if (name.endsWith(NUM_BATCHES)) tensors.set(name, { dtype: 'I64', shape: [], data: BigInt64Array.of(numBatches.get(name)!) });
      else tensors.set(name, { dtype: 'F32', shape, data: frozen(name) ? values.get(name)! : runner.get(name) });
    }
    modelFile = await writeCheckpoint(P.model, tensors, cfg, { format: 'pt', producer: 'cliplab train', model: modelName });
  }
  await runner.release();
  const result: TrainResult = {
    run,
    steps,
    samples_seen: samplesSeen,
    final_loss: lastLoss,
    wall_s: round((performance.now() - t0) / 1000),
    loop_s: round(loopS),
    images_per_s: round(loopS > 0 ? trainedImages / loopS : 0),
    data_wait_s: round(dataWaitS),
    cpu_ms_per_image: trainedImages ? Math.round(((cpu.user + cpu.system) / trainedImages) * 10) / 10000 : 0,
    stopped,
    model: modelFile,
  };
  if (!stopped) await writeJsonAtomic(P.summary, { ...result, data: params.data, proportions: params.proportions, seed: params.seed, model_config: modelName });
  return result;
}

/** The model config and, with --init, its starting weights (checked name by name, shape by shape). */
async function resolveModel(o: TrainOptions, needInit: boolean): Promise<{ cfg: ClipConfig; modelName: string; initWeights: Map<string, Float32Array> | null }> {
  if (!o.model && !o.init) throw new InputError('--model', 'required: a config name (e.g. ViT-Tiny-8-64) or a JSON file');
  if (!o.model) {
    const m = await loadClipModel(o.init!);
    return { cfg: m.config, modelName: m.file, initWeights: m.weights };
  }
  const cfg = loadModelConfig(o.model);
  const modelName = o.model.endsWith('.json') || o.model.includes('/') ? resolve(o.model) : o.model;
  if (!o.init || !needInit) return { cfg, modelName, initWeights: null };
  const file = resolveWeightsFile(o.init);
  const { tensors } = await readWeights(file);
  for (const k of [...tensors.keys()]) if (isTrainerKey(k)) tensors.delete(k);
  let matched: Map<string, NamedTensor>;
  try {
    matched = matchStateDict(file, tensors, expectedStateDict(cfg).shapes, { allowMissing: (n) => n.endsWith(NUM_BATCHES) });
  } catch (e) {
    if (e instanceof InputError) throw new InputError(`--init ${file}`, `does not match --model ${o.model}: ${e.message.slice(file.length + 2)}`);
    throw e;
  }
  const weights = new Map<string, Float32Array>();
  for (const [name, t] of matched) if (!name.endsWith(NUM_BATCHES)) weights.set(name, Float32Array.from(toFloat32(t).data));
  return { cfg, modelName, initWeights: weights };
}

/** Removes temp files a killed run left behind and cuts log.jsonl back to the step we start from. */
async function prepareRunDir(P: ReturnType<typeof runPaths>, startStep: number): Promise<void> {
  if (existsSync(P.checkpoints))
    for (const f of readdirSync(P.checkpoints)) if (f.startsWith('.') && f.includes('.tmp-')) rmSync(join(P.checkpoints, f), { force: true });
  const kept = existsSync(P.log)
    ? readFileSync(P.log, 'utf8').split('\n').filter((l) => {
        if (!l.trim()) return false;
        try {
          return (JSON.parse(l) as StepLog).step <= startStep;
        } catch {
          return false;
        }
      })
    : [];
  await writeFileAtomic(P.log, kept.map((l) => l + '\n').join(''));
}

const round = (x: number): number => Math.round(x * 100) / 100;
