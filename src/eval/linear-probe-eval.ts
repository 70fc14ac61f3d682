// `evaluateLinearProbe`: frozen unit image features of a train and a test ImageFolder (same class folders),
// the linear probe fitted by CLIP_benchmark's protocol, and one result in its shape (lp_acc1, lp_acc5, …).
import { basename, join } from 'node:path';
import { InputError } from '../util/errors.js';
import { imageFeatures } from './features.js';
import { readImageFolder } from './image-folder.js';
import { fitLinearProbe, probeLogits } from './linear-probe.js';
import { classificationMetrics } from './metrics.js';
import { taskResult, withTaskModel, writeTaskResult, type TaskModelOptions } from './task-eval.js';

export interface LinearProbeEvalOptions extends TaskModelOptions {
  train: string;
  test: string;
  /** Share of train held out to choose the weight decay (default 0.2; 0 = no search, weight decay 0). */
  valProportion?: number;
  lr?: number;
  epochs?: number;
  probeBatchSize?: number;
  seed?: number;
  dataset?: string;
}

export async function evaluateLinearProbe(o: LinearProbeEvalOptions): Promise<{ result: Record<string, unknown>; files: string[]; warnings: string[] }> {
  const train = readImageFolder(o.train);
  const test = readImageFolder(o.test, train.classes);
  const p = o.valProportion ?? 0.2;
  if (!(p >= 0 && p < 1)) throw new InputError('--val-proportion', `${p} is not in [0, 1)`);
  return withTaskModel(o, async ({ model, id, pool, warn, warnings }) => {
    const feats = async (f: typeof train, what: string) => {
      const r = await imageFeatures(f.root, model, f.samples.map((s) => s.file), pool, o.batchSize ?? 128, o.onImages);
      if (r.kept.length === 0) throw new InputError(f.root, `no readable images in the ${what} folder`);
      if (r.skipped.length) warn(`${what}: ${r.skipped.length} of ${f.samples.length} images unreadable, skipped; first: ${r.skipped[0]!.file}: ${r.skipped[0]!.reason}`);
      return { x: r.features, y: Int32Array.from(r.kept, (i) => f.samples[i]!.label), skipped: r.skipped.length };
    };
    const tr = await feats(train, 'train');
    const te = await feats(test, 'test');
    const C = train.classes.length;
    const D = model.embedDim;
    const seed = o.seed ?? 0;
    const epochs = o.epochs ?? 10;
    const fit = await fitLinearProbe(tr, { classes: C, dim: D, lr: o.lr, epochs, batchSize: o.probeBatchSize, seed, threads: o.threads, valProportion: p });
    const m = classificationMetrics(probeLogits(fit.probe, te.x, D), te.y, C);
    const metrics = {
      lp_acc1: m.acc1,
      lp_acc5: m.acc5,
      lp_mean_per_class_recall: m.mean_per_class_recall,
      lp_mean_average_precision: m.mean_average_precision,
      weight_decay: fit.weightDecay,
      epochs,
      seed,
      fewshot_k: -1,
      normalized: true,
    };
    const dataset = o.dataset ?? (basename(test.root) === 'test' || basename(test.root) === 'val' ? basename(join(test.root, '..')) : basename(test.root));
    const result = taskResult(id, dataset, 'linear_probe', metrics, {
      n: te.y.length,
      n_train: tr.y.length,
      n_skipped: tr.skipped + te.skipped,
      classes: { id: `${dataset}-${C}`, count: C },
      val_proportion: p,
      weight_decay_sweep: fit.sweep,
    }, { train_root: train.root, test_root: test.root, lr: o.lr ?? 0.1, batch_size: o.probeBatchSize ?? 64 });
    return { result, files: await writeTaskResult(o.out, result), warnings };
  });
}
