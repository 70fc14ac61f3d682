// The table of commands. Each module exports `register(program)`; add one line per command.
import type { Command } from 'commander';
import { register as tokenize } from './tokenize.js';
import { register as testbed } from './testbed.js';
import { register as analyze } from './analyze.js';
import { register as theory } from './theory.js';
import { register as report } from './report.js';
import { register as serve } from './serve.js';
import { register as ingest } from './ingest.js';
import { register as ingestFailures } from './ingest-failures.js';
import { register as step } from './step.js';
import { register as exportCmd } from './export.js';
import { register as train } from './train.js';
import { register as bench } from './bench.js';
import { register as dataset } from './dataset.js';
import { register as study } from './study.js';
import { register as demo } from './demo.js';
import { register as evalCommand } from './eval.js';
import { register as corrupt } from './corrupt.js';

export type RegisterCommand = (program: Command) => void;

export const commands: RegisterCommand[] = [
  tokenize,
  testbed,
  analyze,
  theory,
  report,
  serve,
  ingest,
  ingestFailures,
  step,
  exportCmd,
  train,
  bench,
  dataset,
  study,
  demo,
  evalCommand,
  corrupt,
];
