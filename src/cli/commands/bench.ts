// `cliplab bench <data|train|eval>`: throughput measurements, one JSON line each. `data` lives here; `train` and
// `eval` are added by their owners as entries of `benchSubcommands`.
import type { Command } from 'commander';
import { benchData } from '../../data/loader/bench.js';
import { benchTrain } from '../../train/bench.js';
import { choiceFlag, intFlag } from '../args.js';
import { registerBenchEval } from './eval.js';

const positiveInt = (flag: string, value: string | undefined, fallback: number): number => intFlag(flag, value, fallback, 1);
const nonNegativeInt = (flag: string, value: string | undefined, fallback: number): number => intFlag(flag, value, fallback, 0);

interface DataFlags {
  batchSize?: string;
  steps?: string;
  threads?: string;
  imageSize?: string;
  samples?: string;
  data?: string;
}

function registerBenchData(bench: Command): void {
  bench
    .command('data')
    .description('loader throughput: decode + augment + tokenize of generated 64x64 PNGs in temporary shards')
    .option('--batch-size <b>', 'batch size (default 256)')
    .option('--steps <n>', 'timed batches (default 20)')
    .option('--threads <t>', 'loader worker threads; 0 = main thread (default 2)')
    .option('--image-size <s>', 'model input size (default 64)')
    .option('--samples <n>', 'distinct generated samples (default 2048)')
    .option('--data <shards>', 'measure on existing shards (dir, .tar, {a..b} pattern) instead of generated images')
    .action(async (flags: DataFlags) => {
      const result = await benchData({
        batchSize: positiveInt('--batch-size', flags.batchSize, 256),
        steps: positiveInt('--steps', flags.steps, 20),
        threads: nonNegativeInt('--threads', flags.threads, 2),
        imageSize: positiveInt('--image-size', flags.imageSize, 64),
        samples: positiveInt('--samples', flags.samples, 2048),
        data: flags.data,
      });
      process.stdout.write(JSON.stringify(result) + '\n');
    });
}

interface TrainFlags {
  model: string;
  batchSize?: string;
  steps?: string;
  warmup?: string;
  threads?: string;
  device?: string;
  spin: boolean;
  arena: boolean;
  memPattern?: boolean;
  data?: string;
  block?: string;
}

function registerBenchTrain(bench: Command): void {
  bench
    .command('train')
    .description('training-step throughput (forward, backward, AdamW in one ORT session) on a fixed random batch')
    .option('--model <name>', 'model config name or JSON file', 'ViT-Tiny-8-64')
    .option('--batch-size <b>', 'batch size (default 128)')
    .option('--steps <n>', 'timed steps (default 20)')
    .option('--warmup <n>', 'untimed steps first (default 3)')
    .option('--threads <t>', 'intra-op threads (default: all cores)')
    .option('--device <d>', 'cpu|cuda (default cpu)')
    .option('--no-spin', 'ORT intra-op threads wait without spinning (better on a shared machine)')
    .option('--no-arena', "ORT's CPU arena off: memory freed in a step goes back to the system")
    .option('--mem-pattern', "ORT's memory pattern on (off in cliplab train: it adds a planned block per run on top of the arena)")
    .option('--data <shards>', "also time steps fed by cliplab train's loader from these shards, in blocks alternating with the fixed batch (same session)")
    .option('--block <n>', 'steps per block with --data (default 10; the first 2 of each are not timed)')
    .option('--json', 'print the result as JSON (the only output; accepted as every printing command does)')
    .action(async (f: TrainFlags) => {
      const result = await benchTrain({
        model: f.model,
        batchSize: positiveInt('--batch-size', f.batchSize, 128),
        steps: positiveInt('--steps', f.steps, 20),
        warmup: nonNegativeInt('--warmup', f.warmup, 3),
        threads: f.threads === undefined ? undefined : positiveInt('--threads', f.threads, 2),
        device: choiceFlag('--device', f.device, ['cpu', 'cuda'] as const, 'cpu'),
        spinning: f.spin,
        cpuArena: f.arena,
        memoryPattern: f.memPattern,
        data: f.data,
        block: f.block === undefined ? undefined : positiveInt('--block', f.block, 10),
      });
      process.stdout.write(JSON.stringify(result) + '\n');
    });
}

/** One entry per `bench` subcommand; owners of `train` / `eval` add theirs here. */
export const benchSubcommands: ((bench: Command) => void)[] = [
  registerBenchData,
  registerBenchTrain,
  registerBenchEval,
];

export function register(program: Command): void {
  const bench = program.command('bench').description('throughput measurements; each prints one JSON line with images_per_s');
  for (const add of benchSubcommands) add(bench);
}
