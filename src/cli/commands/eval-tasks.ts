// `cliplab eval --task retrieval|linear-probe|multilabel`: the tasks beside zero-shot classification, one result each.
import { evaluateLinearProbe } from '../../eval/linear-probe-eval.js';
import { evaluateMultiLabel, readCocoInstances, readVoc2007 } from '../../eval/multilabel.js';
import { evaluateRetrieval } from '../../eval/retrieval-eval.js';
import { InputError } from '../../util/errors.js';
import { info, warn } from '../../util/log.js';
import { EVAL_MODEL_OPTIONS, type EvalFlags, type Task } from '../../eval/options.js';

/** The entries of `o` named in `keys`. */
function pick<T extends object, K extends keyof T>(o: T, keys: K[]): Pick<T, K> {
  return Object.fromEntries(keys.filter((k) => o[k] !== undefined).map((k) => [k, o[k]])) as Pick<T, K>;
}

const need = (flag: string, v: string | undefined, task: string): string => {
  if (v === undefined) throw new InputError(flag, `--task ${task} needs ${flag}`);
  return v;
};

export async function runTask(task: Exclude<Task, 'zeroshot-classification'>, f: EvalFlags, json: boolean): Promise<void> {
  const common = { ...pick(f, Object.keys(EVAL_MODEL_OPTIONS) as (keyof typeof EVAL_MODEL_OPTIONS)[]), onWarning: warn };
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
          recallK: f.recallK,
        })
      : await evaluateLinearProbe({
          ...common,
          train: need('--train', f.train, task),
          test: need('--test', f.test, task),
          valProportion: f.valProportion,
          seed: f.seed,
        });
  if (json) process.stdout.write(JSON.stringify(result) + '\n');
  else {
    const m = result.metrics as Record<string, number>;
    process.stdout.write(`${String(result.dataset)}: ${Object.entries(m).filter(([, v]) => typeof v === 'number').map(([k, v]) => `${k} ${+v.toFixed(4)}`).join(' ')}\n`);
    info(`wrote ${files.join(', ')}`);
  }
}
