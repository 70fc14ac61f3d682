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
import { scalarFeeds } from '../nn/step-runner.js';
import { adamwScalars, stateName, type AdamWConfig } from '../nn/adamw.js';
import type { Batch, DataPosition } from '../data/loader/index.js';
import { PrefetchedBatches } from './prefetch.js';
import { TRAIN_SESSION, buildTrainGraph } from './train-graph.js';
import { TrainStepRunner } from './train-step.js';
import { AccumStepRunner, buildAccumGraphs } from './accum-step.js';
import type { ParamStore } from '../nn/params.js';
import { expectedStateDict, NUM_BATCHES } from './state-dict.js';
import { cosineLr } from './schedule.js';
import { checkDataContent, checkTrainData } from './data-check.js';
import type { FileDigest } from '../util/content-hash.js';
import { readTrainCheckpoint, writeTrainCheckpoint, type TrainerState } from './run-checkpoint.js';
import {
  checkResumeParams, mergeResumeOptions, resolveParams, upgradeSavedParams, validateOptions,
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
    run,
    config: join(run, 'config.json'),
    params: join(run, 'params.json'),
    log: join(run, 'log.jsonl'),
    checkpoints: ck,
    latest: join(ck, 'latest.safetensors'),
    epoch: (n: number) => join(ck, `epoch_${n}.safetensors`),
    model: join(run, 'model.safetensors'),
    summary: join(run, 'summary.json'),
    /** Content hashes of the training shards: --resume refuses data replaced under the same names. */
    inputs: join(run, 'data-inputs.json'),
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
  const t0 = performance.now();
  const plan = await planRun(options);
  const run = await openRun(plan);
  try {
    await writeRunDir(plan, run.startStep);
    const loop = await trainLoop(plan, run);
    const model = loop.stopped ? null : await writeFinalModel(plan, run);
    return await summarize(plan, run, loop, model, t0);
  } finally {
    await run.runner.release();
  }
}

// ---------------------------------------------------------------- setup

/** What a run will do, decided before any weights exist: options (merged with a resumed run's), model, data. */
interface RunPlan {
  o: TrainOptions;
  P: ReturnType<typeof runPaths>;
  /** Continuing from P.latest (a resumed run with a checkpoint; a resume without one starts fresh). */
  resuming: boolean;
  cfg: ClipConfig;
  modelName: string;
  initWeights: Map<string, Float32Array> | null;
  params: ResolvedParams;
  adamw: Omit<AdamWConfig, 'decays'>;
  frozen: (name: string) => boolean;
  inputs: FileDigest[];
}

async function planRun(options: TrainOptions): Promise<RunPlan> {
  const P = runPaths(resolve(options.out));
  // Everything a resume changes is decided here: the saved params fill unset options and must agree with set ones.
  const saved = options.resume && existsSync(P.params) ? upgradeSavedParams(JSON.parse(readFileSync(P.params, 'utf8')) as ResolvedParams) : null;
  const o = saved ? mergeResumeOptions({ ...options, model: options.model ?? P.config }, saved) : options;
  const resuming = o.resume === true && existsSync(P.latest);
  if (!o.resume && (existsSync(P.latest) || existsSync(P.model)))
    throw new InputError(P.run, 'already holds a training run; pass --resume to continue it, or choose a new --out');
  if (!o.data) throw new InputError('--data', 'required: one or more shard directories');
  if (o.device === 'cuda' && !(await cudaAvailable()))
    throw new InputError('--device cuda', "onnxruntime-node has no CUDA provider here (install with ONNXRUNTIME_NODE_INSTALL=cuda12; see README 'GPU (CUDA)')");

  // Model config and starting weights (OpenCLIP init, or --init CKPT checked against the config).
  const { cfg, modelName, initWeights } = await resolveModel(o, !resuming);
  if (saved && existsSync(P.config) && JSON.stringify(loadModelConfig(P.config)) !== JSON.stringify(cfg))
    throw new InputError(P.config, `--resume: --model ${o.model} differs from the config this run was started with`);

  const sources = await checkTrainData(o.data, cfg.vision_cfg.image_size);
  const inputs = await checkDataContent(P.inputs, sources.flatMap((s) => s.shards), resuming, P.run);
  const params = resolveParams(o, cfg, modelName, sources.map((s) => s.size));
  if (params.batch_size * params.accum_steps > params.dataset_size) {
    const what = params.accum_steps > 1 ? `${params.accum_steps} × ${params.batch_size} (--accum-steps × --batch-size)` : String(params.batch_size);
    throw new InputError('--batch-size', `${what} is larger than the dataset (${params.dataset_size} samples in ${o.data.join(', ')})`);
  }
  if (saved) checkResumeParams(params, saved, P.params);

  // AdamW (its own stage after the step graph: OpenCLIP's decay rule, logit-scale clamp, optional global-norm clipping); the
  // host feeds the per-step scalars (lr from cosineLr, bias corrections) in float64 as PyTorch computes them.
  const adamw: Omit<AdamWConfig, 'decays'> = { beta1: params.beta1, beta2: params.beta2, eps: params.eps, weightDecay: params.weight_decay, clipGradNorm: params.grad_clip ?? undefined };
  const frozen = (n: string): boolean => (params.lock_image && n.startsWith('visual.')) || (params.lock_text && isTextTower(n));
  return { o, P, resuming, cfg, modelName, initWeights, params, adamw, frozen, inputs };
}

/** The live state of a run: the step session (weights and moments inside it) and the trainer's counters. */
interface OpenRun {
  /** The model's parameters and buffers, and which of them are trained. */
  tg: { ps: ParamStore; trainable: string[] };
  /** One session per step, or with --accum-steps the accumulating runner (features, gradients, update). */
  runner: TrainStepRunner | AccumStepRunner;
  /** The frozen parameters' values (the rest live in the runner). */
  values: Map<string, Float32Array>;
  numBatches: Map<string, bigint>;
  /** Frozen parameters are plain inputs of the step graph: fed every step, never updated. */
  frozenFeeds: Record<string, HostTensor>;
  startStep: number;
  samplesSeen: number;
  position: DataPosition | undefined;
}

async function openRun(plan: RunPlan): Promise<OpenRun> {
  const { cfg, params, P } = plan;
  const K = params.accum_steps;
  const graphOpts = { batchSize: params.batch_size, adamw: plan.adamw, frozen: plan.frozen };
  const tg = K > 1 ? null : buildTrainGraph(cfg, graphOpts);
  const ag = K > 1 ? buildAccumGraphs(cfg, { ...graphOpts, accumSteps: K }) : null;
  const model = (tg ?? ag)!;
  let values = plan.initWeights ?? (plan.resuming ? new Map<string, Float32Array>() : initClip(cfg, params.seed));
  let moments: Map<string, Float32Array> | undefined;
  let numBatches = new Map<string, bigint>();
  let startStep = 0;
  let samplesSeen = 0;
  let position: DataPosition | undefined;
  if (plan.resuming) {
    const ck = await readTrainCheckpoint(P.latest, cfg, model.trainable);
    if (ck.trainer.seed !== params.seed) throw new InputError(P.latest, `seed ${ck.trainer.seed} differs from ${params.seed}`);
    checkTrainerState(P, ck.trainer, params);
    ({ values, moments, numBatches } = ck);
    ({ step: startStep, samplesSeen, position } = ck.trainer);
  }
  for (const [name] of expectedStateDict(cfg).shapes) if (name.endsWith(NUM_BATCHES) && !numBatches.has(name)) numBatches.set(name, 0n);
  const frozenFeeds: Record<string, HostTensor> = {};
  for (const s of model.ps.specs) if (s.trainable && plan.frozen(s.name)) frozenFeeds[s.name] = { data: values.get(s.name)!, shape: s.shape };
  const so = { ...TRAIN_SESSION, threads: params.threads ?? undefined, device: params.device, spinning: params.spinning, cpuArena: params.cpu_arena };
  const runner = tg
    ? await TrainStepRunner.create(tg, values, moments, so)
    : await AccumStepRunner.create(cfg, ag!, K, params.batch_size, values, moments, so);
  // The runner holds its own copy of everything it updates: keep only the frozen values (a whole model otherwise).
  for (const name of [...values.keys()]) if (!(name in frozenFeeds)) values.delete(name);
  return { tg: model, runner, values, numBatches, frozenFeeds, startStep, samplesSeen, position };
}

/** The run directory: config, every resolved setting, the log cut back to the checkpoint we resume from. */
async function writeRunDir(plan: RunPlan, startStep: number): Promise<void> {
  await writeJsonAtomic(plan.P.config, configJson(plan.cfg));
  await writeJsonAtomic(plan.P.params, plan.params);
  await writeJsonAtomic(plan.P.inputs, plan.inputs);
  await prepareRunDir(plan.P, startStep);
}

// ---------------------------------------------------------------- loop

interface LoopResult {
  stopped: boolean;
  stepsDone: number;
  lastLoss: number | null;
  trainedImages: number;
  dataWaitS: number;
  loopS: number;
  cpu: NodeJS.CpuUsage;
}

async function trainLoop(plan: RunPlan, run: OpenRun): Promise<LoopResult> {
  const { o, params, cfg, P } = plan;
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
    alpha: params.alpha,
    position: run.position,
  }, 3, { spinning: params.spinning, threads: params.threads });
  o.onStart?.(params, run.startStep);
  const r: LoopResult = { stopped: false, stepsDone: run.startStep, lastLoss: null, trainedImages: 0, dataWaitS: 0, loopS: 0, cpu: { user: 0, system: 0 } };
  const tLoop = performance.now();
  const cpu0 = process.cpuUsage();
  let tPrev = tLoop;
  let next: Promise<Batch | null> = loader.next();
  next.catch(() => {});
  try {
    for (let step = run.startStep; step < params.total_steps; step++) {
      // A step takes accum_steps batches; each is copied before the loader reuses its arrays (two batches on).
      const batches: Batch[] = [];
      let waitMs = 0;
      for (let j = 0; j < params.accum_steps; j++) {
        const tWait = performance.now();
        const batch = await next;
        waitMs += performance.now() - tWait;
        if (!batch) throw new Error('data loader ended early');
        batches.push(params.accum_steps > 1 ? { ...batch, images: batch.images.slice(), text: batch.text.slice() } : batch);
        next = loader.next();
        next.catch(() => {});
      }
      r.dataWaitS += waitMs / 1000;

      const entry = await trainStep(plan, run, batches, step, waitMs, tPrev);
      tPrev = performance.now();
      const n = batches.reduce((a, b) => a + b.n, 0);
      r.trainedImages += n;
      r.lastLoss = entry.loss;
      appendFileSync(P.log, JSON.stringify(entry) + '\n');
      o.onStep?.(entry);

      const done = step + 1;
      r.stepsDone = done;
      r.stopped = done < params.total_steps && (done === o.stopAfterStep || o.signal?.aborted === true);
      if (done % params.steps_per_epoch === 0) await saveCheckpoint(plan, run, done, [P.epoch(done / params.steps_per_epoch), P.latest]);
      else if (r.stopped || (params.checkpoint_every > 0 && done % params.checkpoint_every === 0)) await saveCheckpoint(plan, run, done, [P.latest]);
      if (r.stopped) break;
    }
  } finally {
    await next.catch(() => null);
    await loader.close();
  }
  r.loopS = (performance.now() - tLoop) / 1000;
  r.cpu = process.cpuUsage(cpu0);
  return r;
}

/** One optimizer step on `batches` (step is 0-based); updates the run's counters and returns the log line. */
async function trainStep(plan: RunPlan, run: OpenRun, batches: Batch[], step: number, waitMs: number, tPrev: number): Promise<StepLog> {
  const { params } = plan;
  const lr = cosineLr(params.lr, params.warmup, params.total_steps, step);
  const feeds = { ...scalarFeeds(adamwScalars(plan.adamw, lr, step + 1)), ...run.frozenFeeds };
  const { loss, logitScale } = await runStep(plan, run.runner, batches, feeds);
  if (!Number.isFinite(loss)) {
    throw new NonFiniteLossError(
      `training diverged: loss is ${loss} at step ${step + 1} (lr ${lr.toPrecision(3)}); stopped without saving, ${keptNote(plan.P)}. Try a lower --lr, a longer --warmup or --grad-clip`,
    );
  }
  // Batch norm counts every training-mode forward: with accumulation OpenCLIP runs two per micro-batch.
  const bnForwards = BigInt(params.accum_steps > 1 ? 2 * params.accum_steps : 1);
  for (const k of run.numBatches.keys()) run.numBatches.set(k, run.numBatches.get(k)! + bnForwards);
  const n = batches.reduce((a, b) => a + b.n, 0);
  run.samplesSeen += n;
  run.position = batches[batches.length - 1]!.position;
  const now = performance.now();
  return {
    step: step + 1,
    epoch: Math.floor(step / params.steps_per_epoch) + 1,
    samples_seen: run.samplesSeen,
    loss,
    lr,
    logit_scale: logitScale,
    images_per_s: round(n / ((now - tPrev) / 1000)),
    data_wait_ms: round(waitMs),
  };
}

/** The step itself: one session run, or the accumulating runner over the micro-batches. */
async function runStep(plan: RunPlan, runner: TrainStepRunner | AccumStepRunner, batches: Batch[], feeds: Record<string, HostTensor>): Promise<{ loss: number; logitScale: number }> {
  if (runner instanceof AccumStepRunner) return runner.step(batches, feeds);
  const { cfg, params } = plan;
  const B = params.batch_size;
  const S = cfg.vision_cfg.image_size;
  const batch = batches[0]!;
  const out = await runner.step(
    { images: { data: batch.images, shape: [B, 3, S, S] }, text: { data: batch.text, shape: [B, cfg.text_cfg.context_length] }, ...feeds },
    ['loss', 'forward.logit_scale'],
  );
  return { loss: (out.loss!.data as Float32Array)[0]!, logitScale: (out['forward.logit_scale']!.data as Float32Array)[0]! };
}

// ---------------------------------------------------------------- checkpoints and the final model

const keptNote = (P: ReturnType<typeof runPaths>): string => (existsSync(P.latest) ? `the last good checkpoint is ${P.latest}` : 'no checkpoint was written yet');

/** Current value of every parameter: frozen ones as fed, the rest from the step session. */
function currentValue(plan: RunPlan, run: OpenRun, name: string): Float32Array {
  return plan.frozen(name) ? run.values.get(name)! : run.runner.get(name);
}

async function saveCheckpoint(plan: RunPlan, run: OpenRun, step: number, files: string[]): Promise<void> {
  const { tg } = run;
  const state = new Map<string, Float32Array>();
  for (const s of tg.ps.specs) state.set(s.name, currentValue(plan, run, s.name));
  // A finite loss at step k was computed before update k: check the updated weights before saving them.
  for (const p of tg.trainable)
    if (!state.get(p)!.every(Number.isFinite))
      throw new NonFiniteLossError(`training diverged: '${p}' became non-finite at step ${step}; stopped without saving, ${keptNote(plan.P)}`);
  const m = new Map<string, Float32Array>();
  for (const p of tg.trainable) for (const k of ['m', 'v'] as const) m.set(stateName(k, p), run.runner.get(stateName(k, p)));
  const trainer = { step, epoch: Math.floor(step / plan.params.steps_per_epoch), samplesSeen: run.samplesSeen, position: run.position!, seed: plan.params.seed };
  await writeTrainCheckpoint(files, { values: state, numBatches: run.numBatches, moments: m, trainer }, plan.cfg, plan.modelName);
}

async function writeFinalModel(plan: RunPlan, run: OpenRun): Promise<string> {
  const tensors = new Map<string, NamedTensor>();
  for (const [name, shape] of expectedStateDict(plan.cfg).shapes) {
    if (name.endsWith(NUM_BATCHES)) tensors.set(name, { dtype: 'I64', shape: [], data: BigInt64Array.of(run.numBatches.get(name)!) });
    else tensors.set(name, { dtype: 'F32', shape, data: currentValue(plan, run, name) });
  }
  return writeCheckpoint(plan.P.model, tensors, plan.cfg, { format: 'pt', producer: 'cliplab train', model: plan.modelName });
}

async function summarize(plan: RunPlan, run: OpenRun, loop: LoopResult, model: string | null, t0: number): Promise<TrainResult> {
  const { params } = plan;
  const result: TrainResult = {
    run: plan.P.run,
    steps: loop.stepsDone,
    samples_seen: run.samplesSeen,
    final_loss: loop.lastLoss,
    wall_s: round((performance.now() - t0) / 1000),
    loop_s: round(loop.loopS),
    images_per_s: round(loop.loopS > 0 ? loop.trainedImages / loop.loopS : 0),
    data_wait_s: round(loop.dataWaitS),
    cpu_ms_per_image: loop.trainedImages ? Math.round(((loop.cpu.user + loop.cpu.system) / loop.trainedImages) * 10) / 10000 : 0,
    stopped: loop.stopped,
    model,
  };
  if (!loop.stopped) await writeJsonAtomic(plan.P.summary, { ...result, data: params.data, proportions: params.proportions, seed: params.seed, model_config: plan.modelName });
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

/**
 * The trainer state of a checkpoint must agree with itself, the run's settings and its log: a step beyond the
 * run's end, or one the data position and the log never reached, would make --resume report work never done.
 */
function checkTrainerState(P: ReturnType<typeof runPaths>, t: TrainerState, params: ResolvedParams): void {
  const bad = (why: string): never => {
    throw new InputError(P.latest, `trainer state does not add up (${why}): not a checkpoint of this run; start a new --out`);
  };
  if (t.step > params.total_steps) bad(`step ${t.step} is past the run's ${params.total_steps} steps`);
  const K = params.accum_steps;
  if (t.position.batches !== t.step * K) bad(`step ${t.step}${K > 1 ? ` × ${K} batches` : ''} but the data position is after batch ${t.position.batches}`);
  if (t.position.samples !== t.samplesSeen) bad(`samples_seen ${t.samplesSeen} but the data position delivered ${t.position.samples}`);
  if (t.samplesSeen !== t.step * params.batch_size * K) bad(`samples_seen ${t.samplesSeen} is not ${t.step} steps × batch ${params.batch_size}${K > 1 ? ` × ${K}` : ''}`);
  if (t.epoch !== Math.floor(t.step / params.steps_per_epoch)) bad(`epoch ${t.epoch} for step ${t.step} at ${params.steps_per_epoch} steps per epoch`);
  if (existsSync(P.log)) {
    const logged = readFileSync(P.log, 'utf8').split('\n').filter((l) => l.trim() !== '').length;
    if (logged < t.step) bad(`log.jsonl records ${logged} steps, the checkpoint claims ${t.step}`);
  }
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
