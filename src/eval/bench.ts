// `bench eval`: image-encoder inference throughput (images/s) of a model config on random input, random init.
import { loadModelConfig } from '../models/config.js';
import { initClip } from '../models/clip.js';
import { imageEncoderGraph, IMAGE_INPUT } from '../models/encoders.js';
import { Session, type Device } from '../runtime/index.js';
import { type OptionsOf, choice, count, option, text } from '../util/options.js';
import { Rng } from '../util/rng.js';

const DEFAULTS = { model: 'ViT-Tiny-8-64', batchSize: 128, steps: 20, threads: 2 };

/** `cliplab bench eval`'s flags and BenchEvalOptions, declared once. */
export const BENCH_EVAL_OPTIONS = {
  model: option(text, { flag: '--model <name>', help: 'model config name or JSON', defaultText: DEFAULTS.model }),
  batchSize: option(count, { flag: '--batch-size <b>', help: 'batch size', defaultText: String(DEFAULTS.batchSize) }),
  steps: option(count, { flag: '--steps <n>', help: 'timed batches', defaultText: String(DEFAULTS.steps) }),
  threads: option(count, { flag: '--threads <t>', help: 'ORT intra-op threads', defaultText: String(DEFAULTS.threads) }),
  device: option(choice(['cpu', 'cuda'] as const), { flag: '--device <d>', help: 'cpu|cuda', defaultText: 'cpu' }),
};

export type BenchEvalOptions = OptionsOf<typeof BENCH_EVAL_OPTIONS> & {
  /** Untimed batches first; default 3. */
  warmup?: number;
  seed?: number;
};

export interface BenchEvalResult {
  bench: 'eval';
  images_per_s: number;
  measured: string;
  model: string;
  batch_size: number;
  steps: number;
  threads: number;
  image_size: number;
  device: Device;
  seconds: number;
  /** Per-batch time in ms: median and fastest. */
  batch_ms_median: number;
  batch_ms_min: number;
  startup_s: number;
  /** Process CPU time (all threads) over the timed steps; on a shared machine images_per_cpu_s × cores bounds what free cores would give. */
  cpu_seconds: number;
  images_per_cpu_s: number;
}

export async function benchEval(opts: BenchEvalOptions = {}): Promise<BenchEvalResult> {
  const name = opts.model ?? DEFAULTS.model;
  const B = opts.batchSize ?? DEFAULTS.batchSize;
  const steps = opts.steps ?? DEFAULTS.steps;
  const threads = opts.threads ?? DEFAULTS.threads;
  const warmup = opts.warmup ?? 3;
  const device = opts.device ?? 'cpu';
  const cfg = loadModelConfig(name);
  const S = cfg.vision_cfg.image_size;
  const t0 = performance.now();
  const session = await Session.create(imageEncoderGraph(cfg, initClip(cfg, opts.seed ?? 0)), { threads, device });
  try {
    const rng = new Rng(opts.seed ?? 0);
    const images = new Float32Array(B * 3 * S * S);
    for (let i = 0; i < images.length; i++) images[i] = rng.normal();
    const feed = { [IMAGE_INPUT]: { data: images, shape: [B, 3, S, S] } };
    for (let i = 0; i < warmup; i++) await session.run(feed);
    const startup = (performance.now() - t0) / 1000;
    const times: number[] = [];
    const c1 = process.cpuUsage();
    const t1 = performance.now();
    for (let i = 0; i < steps; i++) {
      const s = performance.now();
      await session.run(feed);
      times.push(performance.now() - s);
    }
    const seconds = (performance.now() - t1) / 1000;
    const cpu = process.cpuUsage(c1);
    const cpuSeconds = (cpu.user + cpu.system) / 1e6;
    times.sort((a, b) => a - b);
    return {
      bench: 'eval',
      images_per_s: Math.round((B * steps) / seconds),
      measured: 'image encoder forward (eval mode, weights as initializers) on random normalized input, no decode',
      model: name,
      batch_size: B,
      steps,
      threads,
      image_size: S,
      device,
      seconds: Number(seconds.toFixed(3)),
      batch_ms_median: Number(times[Math.floor(times.length / 2)]!.toFixed(2)),
      batch_ms_min: Number(times[0]!.toFixed(2)),
      startup_s: Number(startup.toFixed(3)),
      cpu_seconds: Number(cpuSeconds.toFixed(3)),
      images_per_cpu_s: Math.round((B * steps) / cpuSeconds),
    };
  } finally {
    await session.release();
  }
}
