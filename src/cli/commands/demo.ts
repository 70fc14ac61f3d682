// `cliplab demo [--out DIR] [--quick]`: the whole study on the built-in testbed, from the shipped study specs
// assets/studies/demo.yaml (full) and demo-quick.yaml (CI-sized).
import type { Command } from 'commander';
import { demoSpecPath } from '../../study/demo.js';
import { readStudySpec } from '../../study/spec.js';
import { STUDY_OPTIONS } from '../../study/options.js';
import { optionsFromFlags } from '../options.js';
import { defaultJobs, runStudyCommand } from './study.js';

export function register(program: Command): void {
  program
    .command('demo')
    .description('reproduce the study on the built-in emoji testbed: build, train every design, evaluate, analyze, report')
    .option('--out <dir>', 'output directory', 'cliplab-demo')
    .option('--quick', 'the CI-sized study (a few minutes)')
    .option('--jobs <n>', `jobs at once (default ${defaultJobs()})`)
    .option('--threads <t>', 'intra-op threads per job (default 1)')
    .option('--retries <n>', 'extra attempts per failed job (default 1)')
    .option('--dry-run', 'print the job graph')
    .option('--json', 'print a JSON summary')
    .action(async (flags: Record<string, unknown> & { quick?: boolean; dryRun?: boolean; json?: boolean }) => {
      // The study's own table reads these flags (demo's help differs: its defaults), so values and errors match.
      const o = optionsFromFlags(STUDY_OPTIONS, flags);
      const loaded = readStudySpec(demoSpecPath(flags.quick === true));
      await runStudyCommand(loaded, { ...o, out: String(o.out), threads: o.threads ?? 1, dryRun: flags.dryRun, json: flags.json }, { jobs: defaultJobs() });
    });
}
