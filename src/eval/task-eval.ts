// What the non-zero-shot tasks share: opening one model (or taking a pre-opened one), its identity and
// provenance in the result, the decode pool, and writing a result in CLIP_benchmark's shape.
import { availableParallelism, hostname } from 'node:os';
import { InputError } from '../util/errors.js';
import { writeJsonAtomic } from '../util/fs.js';
import { DecodePool } from './decode.js';
import { openEvalModel, type EvalModel } from './model.js';
import type { EvalModelOptions } from './options.js';
import { packageVersion } from '../util/assets.js';
import { identity, type Identity } from './zeroshot-eval.js';

/** What every task accepts: the shared model options, a pre-opened model, and progress hooks. */
export type TaskModelOptions = EvalModelOptions & {
  /** A pre-opened model (in-process callers, tests). */
  evalModel?: EvalModel;
  onWarning?: (msg: string) => void;
  onImages?: (n: number) => void;
};

export interface TaskContext {
  model: EvalModel;
  id: Identity;
  pool: DecodePool;
  warn: (m: string) => void;
  warnings: string[];
}

/** Runs `body` with the model open and a decode pool; closes both after. */
export async function withTaskModel<T>(o: TaskModelOptions, body: (ctx: TaskContext) => Promise<T>): Promise<T> {
  const warnings: string[] = [];
  const warn = (m: string) => {
    warnings.push(m);
    o.onWarning?.(m);
  };
  if (!o.evalModel && o.model === undefined) throw new InputError('--model', 'required (a run directory or checkpoint)');
  const model = o.evalModel ?? (await openEvalModel({ path: o.model!, config: o.modelConfig, threads: o.threads ?? 2, device: o.device, id: o.modelId, cacheDir: null }));
  const pool = new DecodePool(o.decodeThreads ?? Math.max(1, Math.floor(availableParallelism() / 2)), o.alpha);
  try {
    const id = identity(o, [{ model, weight: 1 }], warn);
    id.provenance.alpha = pool.alpha;
    return await body({ model, id, pool, warn, warnings });
  } finally {
    await pool.close();
    if (!o.evalModel) await model.release();
  }
}

/** A result record in CLIP_benchmark's shape (dataset, model, pretrained, task, metrics, language) plus ours. */
export function taskResult(id: Identity, dataset: string, task: string, metrics: Record<string, unknown>, extra: Record<string, unknown>, provenance: Record<string, unknown>): Record<string, unknown> {
  return {
    model: id.model,
    design: id.design,
    dataset,
    task,
    pretrained: id.pretrained,
    language: 'en',
    metrics,
    ...extra,
    samples_seen: id.samplesSeen,
    seed: id.seed,
    ...(id.designInfo ? { design_info: id.designInfo } : {}),
    provenance: { ...id.provenance, ...provenance, cliplab_version: packageVersion(), created: new Date().toISOString(), host: hostname() },
  };
}

export async function writeTaskResult(out: string | undefined, result: Record<string, unknown>): Promise<string[]> {
  if (out === undefined) return [];
  if (!/\.json$/i.test(out)) throw new InputError('--out', `'${out}': this task writes one result; give a .json file`);
  await writeJsonAtomic(out, result);
  return [out];
}
