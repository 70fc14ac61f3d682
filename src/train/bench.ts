// `cliplab bench train`: training-step throughput of a config on a fixed random batch (as OpenCLIP's peer
// benchmark does), plus an SGEMM measured in the same process to express model FLOP utilization. With `data`,
// blocks of steps on the fixed batch alternate with blocks fed by `cliplab train`'s own loader path, in one
// session, so the cost of real data loading is measured side by side under the same machine conditions.
import { loadModelConfig } from '../models/config.js';
import { initClip } from '../models/clip.js';
import { isResNet } from '../models/arch.js';
import { scalarFeeds } from '../nn/step-runner.js';
import { adamwScalars } from '../nn/adamw.js';
import { Graph, matmul, savedForBackward } from '../graph/index.js';
import { Session, largestFetchBytes, type Device, type HostTensor } from '../runtime/index.js';
import { type OptionsOf, choice, count, flag, int, option, text } from '../util/options.js';
import { Rng } from '../util/rng.js';
import { TRAIN_SESSION, buildTrainGraph } from './train-graph.js';
import { TrainStepRunner } from './train-step.js';
import { trainFlops } from './flops.js';
import { PrefetchedBatches } from './prefetch.js';
import { MemoryTimeline, memoryAccount, type MemoryAccount } from './memory.js';

const DEFAULTS = { model: 'ViT-Tiny-8-64', batchSize: 128, steps: 20, warmup: 3 };

/** `cliplab bench train`'s flags and BenchTrainOptions, declared once. */
export const BENCH_TRAIN_OPTIONS = {
  model: option(text, { flag: '--model <name>', help: 'model config name or JSON file', defaultText: DEFAULTS.model }),
  batchSize: option(count, { flag: '--batch-size <b>', help: 'batch size', defaultText: String(DEFAULTS.batchSize) }),
  steps: option(count, { flag: '--steps <n>', help: 'timed steps', defaultText: String(DEFAULTS.steps) }),
  warmup: option(int(0), { flag: '--warmup <n>', help: 'untimed steps first', defaultText: String(DEFAULTS.warmup) }),
  threads: option(count, { flag: '--threads <t>', help: 'intra-op threads (default: all cores)' }),
  device: option(choice(['cpu', 'cuda'] as const), { flag: '--device <d>', help: 'cpu|cuda', defaultText: 'cpu' }),
  // ORT's defaults: spinning and the CPU arena on; the memory pattern off, as in `cliplab train`.
  spinning: option(flag, { flag: '--no-spin', help: 'ORT intra-op threads wait without spinning (better on a shared machine)' }),
  cpuArena: option(flag, { flag: '--no-arena', help: "ORT's CPU arena off: memory freed in a step goes back to the system" }),
  memoryPattern: option(flag, { flag: '--mem-pattern', help: "ORT's memory pattern on (off in cliplab train: it adds a planned block per run on top of the arena)" }),
  // Shards to alternate with the fixed batch (see the file comment): `steps` timed steps of each kind.
  data: option(text, { flag: '--data <shards>', help: "also time steps fed by cliplab train's loader from these shards, in blocks alternating with the fixed batch (same session)" }),
  block: option(count, { flag: '--block <n>', help: 'steps per block with --data (default 10; the first 2 of each are not timed)' }),
};

export type BenchTrainOptions = OptionsOf<typeof BENCH_TRAIN_OPTIONS>;
type Resolved = BenchTrainOptions & typeof DEFAULTS;

export interface BenchTrainResult {
  bench: 'train';
  model: string;
  batch: number;
  threads: number | null;
  device: Device;
  spinning: boolean;
  cpu_arena: boolean;
  memory_pattern: boolean;
  steps: number;
  images_per_s: number;
  /** Process CPU seconds per image (all threads): a load-independent measure of work. */
  cpu_ms_per_image: number;
  step_ms_median: number;
  step_ms: number[];
  session_build_s: number;
  model_gflop_per_step: number;
  model_gflop_per_s: number;
  sgemm_gflop_per_s: number;
  mfu_vs_sgemm: number;
  /** Where the memory goes (state by construction, ORT measured) and the peak RSS of the benchmark. */
  memory: MemoryAccount;
  /** With `data`: the shards, images/s of the steps fed by the loader, and that over `images_per_s`. */
  data?: { path: string; block: number; images_per_s: number; cpu_ms_per_image: number; ratio: number; data_wait_ms_median: number };
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

/** GFLOP/s of a 1024² fp32 MatMul in ORT with the same thread count. */
export async function sgemmGflops(threads?: number, device: Device = 'cpu'): Promise<number> {
  const n = 1024;
  const g = new Graph('sgemm');
  g.output('c', matmul(g.input('a', [n, n]), g.input('b', [n, n])));
  const s = await Session.create(g, { threads, device, spinning: false });
  const rng = new Rng(1);
  const a = { data: Float32Array.from({ length: n * n }, () => rng.normal()), shape: [n, n] };
  const b = { data: Float32Array.from({ length: n * n }, () => rng.normal()), shape: [n, n] };
  const out = { c: { data: new Float32Array(n * n), shape: [n, n] } };
  for (let i = 0; i < 3; i++) await s.run({ a, b }, out);
  const times: number[] = [];
  for (let i = 0; i < 10; i++) {
    const t0 = performance.now();
    await s.run({ a, b }, out);
    times.push(performance.now() - t0);
  }
  await s.release();
  return (2 * n ** 3) / (median(times) / 1000) / 1e9;
}

export async function benchTrain(options: BenchTrainOptions): Promise<BenchTrainResult> {
  const d = DEFAULTS;
  const opts: Resolved = { ...options, model: options.model ?? d.model, batchSize: options.batchSize ?? d.batchSize, steps: options.steps ?? d.steps, warmup: options.warmup ?? d.warmup };
  const bench = await openBench(opts);
  const { B, runner, mem } = bench;
  let timed: Timed;
  try {
    const feeds = fixedBatch(bench.cfg, B);
    const step = async (n: number, f: Record<string, HostTensor>) => {
      await runner.step({ ...f, ...scalarFeeds(adamwScalars(bench.adamw, 1e-3, n)) }, ['loss']);
      if (n === 1) mem.mark('first-step');
    };
    let n = 0;
    for (; n < opts.warmup; ) await step(++n, feeds);
    timed = opts.data ? await timeAlternating(opts, opts.data, bench, feeds, (f) => step(++n, f)) : await timeFixed(opts.steps, feeds, (f) => step(++n, f));
    mem.mark('steps');
  } finally {
    await runner.release();
  }
  // The runner copies the initial parameters into its flat buffer; the zero moments and the gradients are first
  // written by the first step.
  const batchBytes = B * 3 * bench.cfg.vision_cfg.image_size ** 2 * 4 + B * bench.cfg.text_cfg.context_length * 8;
  const memory = memoryAccount({ params: bench.nParams, buffers: bench.nBuffers, copiedAtCreate: bench.nParams, firstWrittenByStep: 3 * bench.nParams, spare: 0, batchBytes, largestFetchBytes: largestFetchBytes(), savedActivationBytes: bench.savedBytes }, mem);
  return summarize(opts, bench, timed, memory, await sgemmGflops(opts.threads, opts.device));
}

interface Bench {
  cfg: ReturnType<typeof loadModelConfig>;
  adamw: { beta1: number; beta2: number; eps: number; weightDecay: number };
  B: number;
  runner: TrainStepRunner;
  mem: MemoryTimeline;
  buildS: number;
  nParams: number;
  nBuffers: number;
  savedBytes: number;
}

/** The training graph, its session and initial state, with the memory timeline marked at each stage. */
async function openBench(opts: Resolved): Promise<Bench> {
  const cfg = loadModelConfig(opts.model);
  const resnet = isResNet(cfg.vision_cfg);
  const adamw = { beta1: 0.9, beta2: resnet ? 0.999 : 0.98, eps: resnet ? 1e-8 : 1e-6, weightDecay: 0.2 };
  const B = opts.batchSize;
  const mem = new MemoryTimeline();
  mem.mark('start');
  const t0 = performance.now();
  const tg = buildTrainGraph(cfg, { batchSize: B, adamw });
  const savedBytes = savedForBackward(tg.graph, tg.backwardFrom).reduce((a, t) => a + t.bytes, 0);
  let init: Map<string, Float32Array> | null = initClip(cfg, 0);
  mem.mark('graph');
  const runner = await TrainStepRunner.create(tg, init, undefined, { threads: opts.threads, device: opts.device, spinning: opts.spinning, cpuArena: opts.cpuArena, memoryPattern: opts.memoryPattern ?? TRAIN_SESSION.memoryPattern });
  init = null;
  mem.mark('session');
  const size = (name: string) => tg.ps.specs.find((x) => x.name === name)!.shape.reduce((a, b) => a * b, 1);
  return {
    cfg,
    adamw,
    B,
    runner,
    mem,
    buildS: (performance.now() - t0) / 1000,
    nParams: tg.trainable.reduce((a, p) => a + size(p), 0),
    nBuffers: tg.buffers.reduce((a, p) => a + size(p), 0),
    savedBytes,
  };
}

/** A fixed random batch as in the peer benchmark: N(0,1) images; SOT, random ids, EOT, zero padding. */
function fixedBatch(cfg: Bench['cfg'], B: number): Record<string, HostTensor> {
  const rng = new Rng(2);
  const s = cfg.vision_cfg.image_size;
  const ctx = cfg.text_cfg.context_length;
  const images = Float32Array.from({ length: B * 3 * s * s }, () => rng.normal());
  const text = new BigInt64Array(B * ctx);
  for (let i = 0; i < B; i++) {
    const end = 2 + rng.int(ctx - 2);
    text[i * ctx] = 49406n;
    for (let j = 1; j < end; j++) text[i * ctx + j] = BigInt(1 + rng.int(49405));
    text[i * ctx + end] = 49407n;
  }
  return { images: { data: images, shape: [B, 3, s, s] }, text: { data: text, shape: [B, ctx] } };
}

/** Wall ms of each timed fixed-batch step, their process CPU µs, and with `data` the loader-fed figures. */
interface Timed {
  times: number[];
  cpuUs: number;
  data?: BenchTrainResult['data'];
}

async function timeFixed(steps: number, feeds: Record<string, HostTensor>, step: (f: Record<string, HostTensor>) => Promise<void>): Promise<Timed> {
  const times: number[] = [];
  const cpu0 = process.cpuUsage();
  for (let i = 0; i < steps; i++) {
    const t = performance.now();
    await step(feeds);
    times.push(performance.now() - t);
  }
  const cpu = process.cpuUsage(cpu0);
  return { times, cpuUs: cpu.user + cpu.system };
}

/** Blocks of fixed-batch steps alternating with blocks fed as `cliplab train` feeds them, until each kind has `steps`. */
async function timeAlternating(opts: Resolved, path: string, bench: Bench, feeds: Record<string, HostTensor>, step: (f: Record<string, HostTensor>) => Promise<void>): Promise<Timed> {
  const { B, cfg } = bench;
  const s = cfg.vision_cfg.image_size;
  const ctx = cfg.text_cfg.context_length;
  // As `cliplab train` feeds its steps: the loader on its own (low-priority) thread, three batches ahead.
  const block = opts.block ?? 10;
  const loader = await PrefetchedBatches.open({ sources: [{ path }], batchSize: B, imageSize: s, contextLength: ctx, seed: 0, threads: 0, prefetchBatches: 3 }, 3, { spinning: opts.spinning !== false, threads: opts.threads });
  const fixed = { times: [] as number[], cpuUs: 0 };
  const fed = { times: [] as number[], cpuUs: 0 };
  const waits: number[] = [];
  try {
    while (fed.times.length < opts.steps || fixed.times.length < opts.steps) {
      for (const kind of ['fixed', 'data'] as const) {
        for (let k = 0; k < block; k++) {
          const timed = k >= 2; // a block's first steps let the other kind's work settle
          const c0 = process.cpuUsage();
          const t = performance.now();
          let f = feeds;
          if (kind === 'data') {
            const b = await loader.next();
            if (!b) throw new Error(`bench train --data ${path}: the loader ended`);
            if (timed) waits.push(performance.now() - t);
            f = { images: { data: b.images, shape: [B, 3, s, s] }, text: { data: b.text, shape: [B, ctx] } };
          }
          await step(f);
          if (!timed) continue;
          const c = process.cpuUsage(c0);
          const into = kind === 'fixed' ? fixed : fed;
          into.times.push(performance.now() - t);
          into.cpuUs += c.user + c.system;
        }
      }
    }
  } finally {
    await loader.close();
  }
  const rate = (xs: number[]) => (B * xs.length) / (xs.reduce((a, b) => a + b, 0) / 1000);
  const data = {
    path,
    block,
    images_per_s: round(rate(fed.times)),
    cpu_ms_per_image: Math.round((fed.cpuUs / 1000 / (B * fed.times.length)) * 1000) / 1000,
    ratio: Math.round((rate(fed.times) / rate(fixed.times)) * 1000) / 1000,
    data_wait_ms_median: round(median(waits)),
  };
  return { ...fixed, data };
}

function summarize(opts: Resolved, bench: Bench, { times, cpuUs, data }: Timed, memory: MemoryAccount, sgemm: number): BenchTrainResult {
  const { B, cfg } = bench;
  const total = times.reduce((a, b) => a + b, 0) / 1000;
  const gflop = trainFlops(cfg, B) / 1e9;
  const modelRate = gflop / (median(times) / 1000);
  return {
    bench: 'train',
    model: opts.model,
    batch: B,
    threads: opts.threads ?? null,
    device: opts.device ?? 'cpu',
    spinning: opts.spinning !== false,
    cpu_arena: opts.cpuArena !== false,
    memory_pattern: opts.memoryPattern ?? TRAIN_SESSION.memoryPattern,
    steps: times.length,
    images_per_s: round((B * times.length) / total),
    cpu_ms_per_image: Math.round((cpuUs / 1000 / (B * times.length)) * 1000) / 1000,
    step_ms_median: round(median(times)),
    step_ms: times.map(round),
    session_build_s: round(bench.buildS),
    model_gflop_per_step: round(gflop),
    model_gflop_per_s: round(modelRate),
    sgemm_gflop_per_s: round(sgemm),
    mfu_vs_sgemm: round(modelRate / sgemm),
    memory,
    ...(data ? { data } : {}),
  };
}

const round = (x: number) => Math.round(x * 100) / 100;
