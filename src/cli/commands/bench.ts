// `cliplab bench <data|train|eval>`: throughput measurements, one JSON line each. `data` lives here; `train` and
// `eval` are added by their owners as entries of `benchSubcommands`.
import type { Command } from 'commander';
import { BENCH_DATA_OPTIONS, benchData } from '../../data/loader/bench.js';
import { BENCH_TRAIN_OPTIONS, benchTrain } from '../../train/bench.js';
import { addOptions, optionsFromFlags } from '../options.js';
import { registerBenchEval } from './eval.js';

function registerBenchData(bench: Command): void {
  const cmd = bench.command('data').description('loader throughput: decode + augment + tokenize of generated 64x64 PNGs in temporary shards');
  addOptions(cmd, BENCH_DATA_OPTIONS).action(async (flags: Record<string, unknown>) => {
    const result = await benchData(optionsFromFlags(BENCH_DATA_OPTIONS, flags));
    process.stdout.write(JSON.stringify(result) + '\n');
  });
}

function registerBenchTrain(bench: Command): void {
  const cmd = bench.command('train').description('training-step throughput (forward, backward, AdamW) on a fixed random batch');
  addOptions(cmd, BENCH_TRAIN_OPTIONS)
    .option('--json', 'print the result as JSON (the only output; accepted as every printing command does)')
    .action(async (flags: Record<string, unknown>) => {
      const result = await benchTrain(optionsFromFlags(BENCH_TRAIN_OPTIONS, flags));
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
