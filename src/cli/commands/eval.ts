// `cliplab eval`: zero-shot evaluation of a model (or an output-mixing ensemble) on the testbed or ImageNet suite,
// or one ImageFolder; one result JSON per (model, dataset). Also `registerBenchEval` for `cliplab bench eval`.
import type { Command } from 'commander';
import { BENCH_EVAL_OPTIONS, benchEval } from '../../eval/bench.js';
import { EVAL_OPTIONS } from '../../eval/options.js';
import type { Result } from '../../eval/result.js';
import { evaluateZeroShot } from '../../eval/zeroshot-eval.js';
import { InputError } from '../../util/errors.js';
import { info, warn } from '../../util/log.js';
import { addOptions, optionsFromFlags } from '../options.js';
import { evalProgressReporter } from '../eval-progress.js';
import { runTask } from './eval-tasks.js';

export function register(program: Command): void {
  const cmd = program
    .command('eval')
    .description('zero-shot evaluation (CLIP_benchmark protocol) on a suite or an ImageFolder, or --task retrieval|linear-probe|multilabel; one result JSON per (model, dataset)');
  addOptions(cmd, EVAL_OPTIONS)
    .option('--json', 'print the results as JSON lines on stdout')
    .action(async (flags: Record<string, unknown> & { json?: boolean }) => {
      const f = optionsFromFlags(EVAL_OPTIONS, flags);
      const task = f.task ?? 'zeroshot-classification';
      if (task !== 'zeroshot-classification') return runTask(task, f, flags.json === true);
      if (f.ensemble !== undefined) {
        if (f.model !== undefined && !f.ensemble.some((e) => e.path === f.model))
          throw new InputError('--model', `'${f.model}' is not among the --ensemble members; list every member with its weight there`);
      } else if (f.model === undefined) throw new InputError('--model', 'required (a run directory or checkpoint), or --ensemble RUN:w,…');
      const rep = evalProgressReporter();
      try {
        const out = await evaluateZeroShot({
          ...f,
          onProgress: rep.on,
          onWarning: (m) => {
            rep.stop();
            warn(m);
          },
        });
        rep.stop();
        if (flags.json) for (const r of out.results) process.stdout.write(JSON.stringify(r) + '\n');
        else {
          for (const r of out.results) process.stdout.write(resultLine(r) + '\n');
          info(`wrote ${out.files.join(', ')}`);
        }
      } finally {
        rep.stop();
      }
    });
}

/** One line per result: top-1 with its interval, top-5, mean per-class recall, n, and what else the result has. */
function resultLine(r: Result): string {
  const ci = r.metrics.acc1_ci95;
  const sub = (r as { reference_subset?: { dataset: string; metrics: { acc1: number } } }).reference_subset;
  return (
    `${r.dataset}: acc1 ${(100 * r.metrics.acc1).toFixed(2)}%` +
    (ci ? ` [${(100 * ci[0]).toFixed(2)}, ${(100 * ci[1]).toFixed(2)}]` : '') +
    ` acc5 ${r.metrics.acc5 === null ? '-' : `${(100 * r.metrics.acc5).toFixed(2)}%`} mpcr ${(100 * r.metrics.mean_per_class_recall).toFixed(2)}% n=${r.n}` +
    (typeof r.metrics.mCE === 'number' ? ` mCE ${(100 * r.metrics.mCE).toFixed(2)}%` : '') +
    (sub ? ` (${sub.dataset} on these classes: ${(100 * sub.metrics.acc1).toFixed(2)}%)` : '')
  );
}

/** `cliplab bench eval`: image-encoder throughput on random input for a config (random init). */
export function registerBenchEval(bench: Command): void {
  const cmd = bench.command('eval').description('image-encoder inference throughput (images/s) of a model config on random input');
  addOptions(cmd, BENCH_EVAL_OPTIONS).action(async (flags: Record<string, unknown>) => {
    const r = await benchEval(optionsFromFlags(BENCH_EVAL_OPTIONS, flags));
    process.stdout.write(JSON.stringify(r) + '\n');
  });
}
