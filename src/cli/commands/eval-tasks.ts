// `cliplab eval --task retrieval|linear-probe|multilabel`: the tasks beside zero-shot classification, one result each.
import { evaluateLinearProbe } from '../../eval/linear-probe-eval.js';
import { evaluateMultiLabel, readCocoInstances, readVoc2007 } from '../../eval/multilabel.js';
import { evaluateRetrieval } from '../../eval/retrieval-eval.js';
import { InputError } from '../../util/errors.js';
import { info, warn } from '../../util/log.js';
import { choiceFlag, intFlag, numFlag } from '../args.js';

export const TASKS = ['zeroshot-classification', 'retrieval', 'linear-probe', 'multilabel'] as const;
export type Task = (typeof TASKS)[number];

export interface TaskFlags {
  model?: string;
  modelConfig?: string;
  out: string;
  design?: string;
  modelId?: string;
  batchSize?: string;
  threads?: string;
  decodeThreads?: string;
  device?: string;
  json?: boolean;
  images?: string;
  captions?: string;
  split?: string;
  recallK?: string;
  train?: string;
  test?: string;
  valProportion?: string;
  seed?: string;
  annotations?: string;
  voc?: string;
  suite?: string;
  dataRoot?: string;
  templates?: string;
}

const need = (flag: string, v: string | undefined, task: string): string => {
  if (v === undefined) throw new InputError(flag, `--task ${task} needs ${flag}`);
  return v;
};

export async function runTask(task: Exclude<Task, 'zeroshot-classification'>, f: TaskFlags): Promise<void> {
  const common = {
    model: f.model,
    modelConfig: f.modelConfig,
    design: f.design,
    modelId: f.modelId,
    batchSize: intFlag('--batch-size', f.batchSize, 128),
    threads: intFlag('--threads', f.threads, 2),
    decodeThreads: f.decodeThreads === undefined ? undefined : intFlag('--decode-threads', f.decodeThreads, 1, 0),
    device: choiceFlag('--device', f.device, ['cpu', 'cuda'] as const, 'cpu'),
    out: f.out,
    onWarning: warn,
  };
  const multilabel = () => {
    if ((f.annotations === undefined) === (f.voc === undefined)) throw new InputError('--annotations', '--task multilabel needs --annotations COCO_INSTANCES.json (with --images) or --voc DIR');
    const set = f.voc !== undefined ? readVoc2007(f.voc, f.split) : readCocoInstances(f.annotations!, need('--images', f.images, task));
    return evaluateMultiLabel({ ...common, set, templates: f.templates });
  };
  const { result, files } =
    task === 'multilabel'
      ? await multilabel()
      : task === 'retrieval'
      ? await evaluateRetrieval({
          ...common,
          ...(f.suite === 'testbed'
            ? { testbed: need('--data-root', f.dataRoot, task) }
            : { images: need('--images', f.images, task), captions: need('--captions', f.captions, task) }),
          split: f.split,
          recallK: f.recallK?.split(',').map((k) => intFlag('--recall-k', k.trim(), 1)),
        })
      : await evaluateLinearProbe({
          ...common,
          train: need('--train', f.train, task),
          test: need('--test', f.test, task),
          valProportion: numFlag('--val-proportion', f.valProportion, 0.2, (v) => v >= 0 && v < 1, 'a share in [0, 1)'),
          seed: intFlag('--seed', f.seed, 0, 0),
        });
  if (f.json) process.stdout.write(JSON.stringify(result) + '\n');
  else {
    const m = result.metrics as Record<string, number>;
    process.stdout.write(`${String(result.dataset)}: ${Object.entries(m).filter(([, v]) => typeof v === 'number').map(([k, v]) => `${k} ${+v.toFixed(4)}`).join(' ')}\n`);
    info(`wrote ${files.join(', ')}`);
  }
}
