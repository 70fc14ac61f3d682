// `cliplab eval`: zero-shot evaluation of a model (or an output-mixing ensemble) on the testbed or ImageNet suite,
// or one ImageFolder; one result JSON per (model, dataset). Also `registerBenchEval` for `cliplab bench eval`.
import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { benchEval } from '../../eval/bench.js';
import { canonicalDataset } from '../../eval/dataset-names.js';
import { evaluateZeroShot, type EnsembleEntry, type EvalProgress } from '../../eval/zeroshot-eval.js';
import { SUITES, type SuiteName } from '../../eval/suites.js';
import { InputError } from '../../util/errors.js';
import { info, warn } from '../../util/log.js';
import { progress, type Progress } from '../../util/progress.js';
import { choiceFlag, intFlag } from '../args.js';
import { runTask, TASKS, type Task, type TaskFlags } from './eval-tasks.js';

/** `RUN:w,RUN:w,…` (a path may itself hold ':'; the weight is after the last one). */
export function parseEnsemble(value: string): EnsembleEntry[] {
  const entries = value.split(',').map((s) => s.trim()).filter((s) => s !== '');
  if (entries.length === 0) throw new InputError('--ensemble', 'expected RUN:weight,RUN:weight,…');
  return entries.map((e) => {
    const at = e.lastIndexOf(':');
    const w = at > 0 ? Number(e.slice(at + 1)) : NaN;
    if (at <= 0 || e.slice(at + 1).trim() === '' || !Number.isFinite(w) || w < 0)
      throw new InputError('--ensemble', `'${e}': expected RUN:weight with a non-negative weight`);
    return { path: e.slice(0, at), weight: w };
  });
}

function readClassnames(file: string): string[] {
  let v: unknown;
  try {
    v = JSON.parse(readFileSync(file, 'utf8'));
  } catch (e) {
    throw new InputError(file, `cannot read class names (${(e as Error).message})`);
  }
  if (!Array.isArray(v) || v.length === 0 || v.some((x) => typeof x !== 'string')) throw new InputError(file, 'expected a JSON list of class names');
  return v as string[];
}

interface Flags extends TaskFlags {
  task?: string;
  model?: string;
  modelConfig?: string;
  suite?: string;
  dataRoot?: string;
  imagefolder?: string;
  datasets?: string;
  full?: boolean;
  classnames?: string;
  out: string;
  templates?: string;
  ensemble?: string;
  design?: string;
  modelId?: string;
  batchSize?: string;
  threads?: string;
  decodeThreads?: string;
  device?: string;
  cacheDir?: string;
  cache?: boolean;
  mceBaseline?: string;
  json?: boolean;
}

function progressReporter(): { on: (e: EvalProgress) => void; stop: () => void } {
  let bar: Progress | null = null;
  let label = '';
  let headDone = 0;
  return {
    on(e) {
      if (e.kind === 'head') {
        if (label !== `head ${e.model}` || e.done < headDone) {
          bar?.stop();
          label = `head ${e.model}`;
          headDone = 0;
          bar = progress(`zero-shot head ${e.model}`, e.total, 'texts');
        }
        bar!.tick(e.done - headDone);
        headDone = e.done;
        return;
      }
      if (e.kind === 'dataset') {
        bar?.stop();
        label = e.dataset;
        bar = progress(`eval ${e.dataset}`, e.total, 'images');
        return;
      }
      if (label !== e.dataset) {
        bar?.stop();
        label = e.dataset;
        bar = progress(`eval ${e.dataset}`, 0, 'images');
      }
      bar!.tick(e.n);
    },
    stop() {
      bar?.stop();
    },
  };
}

export function register(program: Command): void {
  program
    .command('eval')
    .description('zero-shot evaluation (CLIP_benchmark protocol) on a suite or an ImageFolder; one result JSON per (model, dataset)')
    .option('--task <task>', `${TASKS.join('|')} (default zeroshot-classification)`)
    .option('--model <path>', 'run directory or checkpoint (.safetensors)')
    .option('--model-config <config>', 'model config name or JSON when no config.json sits beside the checkpoint')
    .option('--suite <name>', `evaluation suite: ${SUITES.join('|')} (needs --data-root)`)
    .option('--data-root <dir>', 'testbed directory (testbed.json) or folder holding the ImageNet-suite sets')
    .option('--imagefolder <dir>', 'one ImageFolder (ROOT/<class>/<images>; class names from classes.json, classnames.json or the folder names)')
    .option('--datasets <a,b>', 'only these datasets of the suite')
    .option('--full', 'testbed: also evaluate the -full sets over every shared concept')
    .option('--classnames <file>', 'ImageFolder: score against a head over these class names (JSON list, a superset of the folders)')
    .requiredOption('--out <path>', 'RESULT.json (one dataset) or a directory (one file per dataset)')
    .option('--templates <t>', 'openai|simple|emoji|FILE (default: emoji for the testbed, openai otherwise)')
    .option('--ensemble <list>', 'output mixing: RUN:w,RUN:w,… (weighted mean of the members’ logits)')
    .option('--design <name>', 'design name for the results (default: from the run’s params.json/summary.json)')
    .option('--model-id <id>', 'model id for the results (default: the run directory name)')
    .option('--batch-size <b>', 'images per encoder call (default 128)')
    .option('--threads <t>', 'ORT intra-op threads (default 2)')
    .option('--decode-threads <n>', 'image decode worker threads (default half the cores; 0 = main thread)')
    .option('--device <d>', 'cpu|cuda (default cpu)')
    .option('--cache-dir <dir>', 'zero-shot head cache (default: .cliplab-cache/ beside the weights)')
    .option('--no-cache', 'do not read or write cached zero-shot heads')
    .option('--mce-baseline <file>', 'ImageNet-C: baseline errors for mCE (a cliplab imagenet-c result or {errors: {corruption: [5 errors]}, clean_error})')
    .option('--json', 'print the results as JSON lines on stdout')
    .option('--images <dir>', 'retrieval, multilabel (COCO): the folder the captions/annotations file names images in')
    .option('--captions <file>', 'retrieval: COCO captions JSON or Karpathy-split JSON')
    .option('--split <name>', 'retrieval (Karpathy format), multilabel (VOC): split to evaluate (default test)')
    .option('--recall-k <list>', 'retrieval: k values (default 1,5,10)')
    .option('--annotations <file>', 'multilabel: COCO instances JSON (categories from its annotations; with --images)')
    .option('--voc <dir>', 'multilabel: PASCAL VOC 2007 root (VOCdevkit/VOC2007), --split default test')
    .option('--train <dir>', 'linear-probe: training ImageFolder')
    .option('--test <dir>', 'linear-probe: test ImageFolder (same class folders)')
    .option('--val-proportion <p>', 'linear-probe: share of train held out to pick the weight decay (default 0.2)')
    .option('--seed <s>', 'linear-probe: seed of the init, shuffles and split (default 0)')
    .action(async (f: Flags) => {
      const task = choiceFlag<Task>('--task', f.task, TASKS, 'zeroshot-classification');
      if (task !== 'zeroshot-classification') return runTask(task, f);
      let ensemble: EnsembleEntry[] | undefined;
      if (f.ensemble !== undefined) {
        ensemble = parseEnsemble(f.ensemble);
        if (f.model !== undefined && !ensemble.some((e) => e.path === f.model))
          throw new InputError('--model', `'${f.model}' is not among the --ensemble members; list every member with its weight there`);
      } else if (f.model === undefined) throw new InputError('--model', 'required (a run directory or checkpoint), or --ensemble RUN:w,…');
      const suite = f.suite === undefined ? undefined : choiceFlag<SuiteName>('--suite', f.suite, SUITES, 'testbed');
      const rep = progressReporter();
      try {
        const out = await evaluateZeroShot({
          model: f.model,
          ensemble,
          modelConfig: f.modelConfig,
          suite,
          dataRoot: f.dataRoot,
          imagefolder: f.imagefolder,
          datasets: f.datasets?.split(',').map((s) => canonicalDataset(s.trim())).filter((s) => s !== ''),
          includeFull: f.full === true,
          headClassnames: f.classnames !== undefined ? readClassnames(f.classnames) : undefined,
          templates: f.templates,
          design: f.design,
          modelId: f.modelId,
          batchSize: intFlag('--batch-size', f.batchSize, 128),
          threads: intFlag('--threads', f.threads, 2),
          decodeThreads: f.decodeThreads === undefined ? undefined : intFlag('--decode-threads', f.decodeThreads, 1, 0),
          device: choiceFlag('--device', f.device, ['cpu', 'cuda'] as const, 'cpu'),
          cacheDir: f.cache === false ? null : f.cacheDir,
          mceBaseline: f.mceBaseline,
          out: f.out,
          onProgress: rep.on,
          onWarning: (m) => {
            rep.stop();
            warn(m);
          },
        });
        rep.stop();
        if (f.json) for (const r of out.results) process.stdout.write(JSON.stringify(r) + '\n');
        else {
          for (const r of out.results) {
            const ci = r.metrics.acc1_ci95;
            const sub = (r as { reference_subset?: { dataset: string; metrics: { acc1: number } } }).reference_subset;
            process.stdout.write(
              `${r.dataset}: acc1 ${(100 * r.metrics.acc1).toFixed(2)}%` +
                (ci ? ` [${(100 * ci[0]).toFixed(2)}, ${(100 * ci[1]).toFixed(2)}]` : '') +
                ` acc5 ${r.metrics.acc5 === null ? '-' : `${(100 * r.metrics.acc5).toFixed(2)}%`} mpcr ${(100 * r.metrics.mean_per_class_recall).toFixed(2)}% n=${r.n}` +
                (typeof r.metrics.mCE === 'number' ? ` mCE ${(100 * r.metrics.mCE).toFixed(2)}%` : '') +
                (sub ? ` (${sub.dataset} on these classes: ${(100 * sub.metrics.acc1).toFixed(2)}%)` : '') +
                '\n',
            );
          }
          info(`wrote ${out.files.join(', ')}`);
        }
      } finally {
        rep.stop();
      }
    });
}

interface BenchFlags {
  model?: string;
  batchSize?: string;
  steps?: string;
  threads?: string;
  device?: string;
}

/** `cliplab bench eval`: image-encoder throughput on random input for a config (random init). */
export function registerBenchEval(bench: Command): void {
  bench
    .command('eval')
    .description('image-encoder inference throughput (images/s) of a model config on random input')
    .option('--model <name>', 'model config name or JSON (default ViT-Tiny-8-64)')
    .option('--batch-size <b>', 'batch size (default 128)')
    .option('--steps <n>', 'timed batches (default 20)')
    .option('--threads <t>', 'ORT intra-op threads (default 2)')
    .option('--device <d>', 'cpu|cuda (default cpu)')
    .action(async (f: BenchFlags) => {
      const r = await benchEval({
        model: f.model,
        batchSize: intFlag('--batch-size', f.batchSize, 128),
        steps: intFlag('--steps', f.steps, 20),
        threads: intFlag('--threads', f.threads, 2),
        device: choiceFlag('--device', f.device, ['cpu', 'cuda'] as const, 'cpu'),
      });
      process.stdout.write(JSON.stringify(r) + '\n');
    });
}
