// `bench data`: decode + augment + tokenize throughput of the loader, on generated images in temporary shards or on given shards.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ShardWriter } from '../shards/writer.js';
import { syntheticSample } from '../shards/synthetic.js';
import { type OptionsOf, count, int, option, text } from '../../util/options.js';
import { openLoader } from './loader.js';

const DEFAULTS = { batchSize: 256, steps: 20, threads: 2, imageSize: 64, samples: 2048 };

/** `cliplab bench data`'s flags and the matching BenchDataOptions, declared once. */
export const BENCH_DATA_OPTIONS = {
  batchSize: option(count, { flag: '--batch-size <b>', help: 'batch size', defaultText: String(DEFAULTS.batchSize) }),
  steps: option(count, { flag: '--steps <n>', help: 'timed batches', defaultText: String(DEFAULTS.steps) }),
  threads: option(int(0), { flag: '--threads <t>', help: 'loader worker threads; 0 = main thread', defaultText: String(DEFAULTS.threads) }),
  imageSize: option(count, { flag: '--image-size <s>', help: 'model input size', defaultText: String(DEFAULTS.imageSize) }),
  samples: option(count, { flag: '--samples <n>', help: 'distinct generated samples', defaultText: String(DEFAULTS.samples) }),
  data: option(text, { flag: '--data <shards>', help: 'measure on existing shards (dir, .tar, {a..b} pattern) instead of generated images' }),
};

export type BenchDataOptions = OptionsOf<typeof BENCH_DATA_OPTIONS> & {
  /** Side of the generated source images; default 64. */
  sourceSize?: number;
  /** Untimed batches first (worker start-up, caches); default 2. */
  warmup?: number;
  seed?: number;
};

export interface BenchDataResult {
  bench: 'data';
  images_per_s: number;
  batches_per_s: number;
  measured: string;
  batch_size: number;
  steps: number;
  threads: number;
  image_size: number;
  source_image_size: number;
  /** 'generated png' or the shards measured. */
  source: string;
  seconds: number;
  /** CPU seconds the whole process (all threads) used in the timed part. */
  cpu_s: number;
  /** Images per CPU-second: a load-independent figure; uncontended T cores deliver about T× this at most. */
  images_per_cpu_s: number;
  startup_s: number;
  corrupt_images: number;
}

export async function benchData(opts: BenchDataOptions = {}): Promise<BenchDataResult> {
  const B = opts.batchSize ?? DEFAULTS.batchSize;
  const steps = opts.steps ?? DEFAULTS.steps;
  const threads = opts.threads ?? DEFAULTS.threads;
  const S = opts.imageSize ?? DEFAULTS.imageSize;
  const src = opts.sourceSize ?? 64;
  const n = opts.samples ?? DEFAULTS.samples;
  const warmup = opts.warmup ?? 2;
  const dir = opts.data ?? (await mkdtemp(join(tmpdir(), 'cliplab-bench-data-')));
  try {
    if (!opts.data) {
      const w = new ShardWriter({ dir, shardSize: 1000 });
      for (let i = 0; i < n; i++) await w.write(await syntheticSample(i, { size: src, seed: opts.seed ?? 0 }));
      await w.close();
    }
    const t0 = performance.now();
    const loader = await openLoader({ sources: [{ path: dir }], batchSize: B, imageSize: S, threads, seed: opts.seed ?? 0 });
    try {
      for (let i = 0; i < warmup; i++) await loader.next();
      const t1 = performance.now();
      const c1 = process.cpuUsage();
      const into = { images: new Float32Array(B * 3 * S * S), text: new BigInt64Array(B * 77) }; // reused, as `cliplab train` does
      for (let i = 0; i < steps; i++) await loader.next(into);
      const seconds = (performance.now() - t1) / 1000;
      const cpu = process.cpuUsage(c1);
      const cpuS = (cpu.user + cpu.system) / 1e6;
      return {
        bench: 'data',
        images_per_s: Math.round((steps * B) / seconds),
        batches_per_s: Number((steps / seconds).toFixed(3)),
        measured: `loader batches after ${warmup} warm-up: shard read + shuffle buffer + decode of ${opts.data ? 'the given shards' : `generated ${src}x${src} PNGs`} + RandomResizedCrop(0.9-1) bicubic to ${S}x${S} + CLIP normalize + CLIP BPE tokenize (ctx 77), ${threads} worker threads`,
        batch_size: B,
        steps,
        threads,
        image_size: S,
        source_image_size: src,
        source: opts.data ?? 'generated png',
        seconds: Number(seconds.toFixed(3)),
        cpu_s: Number(cpuS.toFixed(3)),
        images_per_cpu_s: Math.round((steps * B) / cpuS),
        startup_s: Number(((t1 - t0) / 1000).toFixed(3)),
        corrupt_images: loader.stats.corruptImages,
      };
    } finally {
      await loader.close();
    }
  } finally {
    if (!opts.data) await rm(dir, { recursive: true, force: true });
  }
}
