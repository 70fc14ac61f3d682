// The CLIP training step's graph: forward, ClipLoss, backward and the batch-norm running stats, with every
// gradient an output `grad.<p>`. TrainStepRunner (train-step.ts) runs it and then AdamW (flat-adamw.ts) over the
// gradients, with OpenCLIP's decay groups and logit-scale clamp.
import { Graph, grad } from '../graph/index.js';
import { ParamStore } from '../nn/params.js';
import { nextName, type AdamWConfig } from '../nn/adamw.js';
import { clipForward } from '../models/clip.js';
import type { ClipArch } from '../models/arch.js';
import type { BatchNormUpdate } from '../nn/batch-norm.js';
import { clipLoss } from './clip-loss.js';
import type { FlatParam } from './flat-adamw.js';

/** OpenCLIP's rule (src/training/main.py): no decay for <2-D tensors, norms, biases and logit_scale. */
export function openclipDecays(name: string, shape: readonly number[]): boolean {
  return !(shape.length < 2 || name.includes('bn') || name.includes('ln') || name.includes('bias') || name.includes('logit_scale'));
}

export const LOGIT_SCALE_MAX = Math.log(100);

/** OpenCLIP's parameter groups and clamp for the parameters `names` of a model with these shapes. */
export function clipParams(names: string[], shapes: Map<string, readonly number[]>, hasGrad: (name: string) => boolean): FlatParam[] {
  return names.map((name) => ({
    name,
    shape: shapes.get(name)!,
    decays: openclipDecays(name, shapes.get(name)!),
    clamp: name === 'logit_scale' ? ([0, LOGIT_SCALE_MAX] as [number, number]) : undefined,
    updated: hasGrad(name),
  }));
}

/**
 * ORT settings for training sessions. The memory pattern is off: with it, every run after the first takes its
 * planned peak as one more block on top of what the first run left in the arena (ViT-B-32, batch 8: 1.4 GB more
 * peak RSS, no measurable CPU time saved).
 */
export const TRAIN_SESSION = { memoryPattern: false } as const;

export interface TrainGraphOptions {
  batchSize: number;
  adamw: Omit<AdamWConfig, 'decays'>;
  /** Also output the forward.* tensors (for `cliplab step` parity checks). */
  debugOutputs?: boolean;
  /** Parameters to keep frozen (no gradient, no update), e.g. a locked tower. */
  frozen?: (name: string) => boolean;
}

export interface TrainGraph {
  graph: Graph;
  ps: ParamStore;
  /** Parameters trained (not frozen); those that get no gradient are carried over unchanged. */
  trainable: string[];
  /** The trained parameters that get a gradient (an output `grad.<p>`). */
  withGrad: string[];
  buffers: string[];
  adamw: Omit<AdamWConfig, 'decays'>;
  /** The first node of the backward pass (what came before is the forward pass and the loss). */
  backwardFrom: number;
}

export const gradName = (param: string): string => `grad.${param}`;

export function buildTrainGraph(cfg: ClipArch, opts: TrainGraphOptions): TrainGraph {
  const B = opts.batchSize;
  const g = new Graph('clip_train_step');
  const ps = new ParamStore(g);
  const images = g.input('images', [B, 3, cfg.vision_cfg.image_size, cfg.vision_cfg.image_size]);
  const text = g.input('text', [B, cfg.text_cfg.context_length], 'int64');
  const updates: BatchNormUpdate[] = [];
  const fwd = clipForward(ps, cfg, images, text, 'train', updates);
  const { loss, logitsPerImage, logitsPerText } = clipLoss(fwd, B);
  g.output('loss', loss);
  g.output('forward.logit_scale', fwd.logitScale);

  const params = ps.trainable().filter((p) => !opts.frozen?.(p.name));
  const backwardFrom = g.nodes.length;
  const grads = g.within('backward', () => grad(loss, params.map((p) => p.tensor)));
  if (opts.debugOutputs) {
    g.output('forward.image_features', fwd.imageFeatures);
    g.output('forward.text_features', fwd.textFeatures);
    g.output('forward.logits_per_image', logitsPerImage);
    g.output('forward.logits_per_text', logitsPerText);
  }
  params.forEach((p, i) => grads[i] && g.output(gradName(p.name), grads[i]!));
  for (const u of updates) g.output(nextName(u.name), u.value);
  return {
    graph: g,
    ps,
    trainable: params.map((p) => p.name),
    withGrad: params.filter((_, i) => grads[i]).map((p) => p.name),
    buffers: updates.map((u) => u.name),
    adamw: opts.adamw,
    backwardFrom,
  };
}

