// The whole CLIP training step as one graph: forward, ClipLoss, backward, AdamW, logit-scale clamp and
// batch-norm running stats. Run it with nn/StepRunner, which carries every `X.next` output over to input X
// (in place: `inPlace: true`; nothing reads a parameter, moment or running stat after its update is written).
import { Graph, grad } from '../graph/index.js';
import { ParamStore } from '../nn/params.js';
import { addAdamW, nextName, stateName, type AdamWConfig } from '../nn/adamw.js';
import { clipForward } from '../models/clip.js';
import type { ClipArch } from '../models/arch.js';
import type { BatchNormUpdate } from '../nn/batch-norm.js';
import { clipLoss } from './clip-loss.js';

/** OpenCLIP's rule (src/training/main.py): no decay for <2-D tensors, norms, biases and logit_scale. */
export function openclipDecays(name: string, shape: readonly number[]): boolean {
  return !(shape.length < 2 || name.includes('bn') || name.includes('ln') || name.includes('bias') || name.includes('logit_scale'));
}

export const LOGIT_SCALE_MAX = Math.log(100);

/**
 * ORT settings for training sessions. The memory pattern is off: with it, every run after the first takes its
 * planned peak as one more block on top of what the first run left in the arena (ViT-B-32, batch 8: 1.4 GB more
 * peak RSS, no measurable CPU time saved).
 */
export const TRAIN_SESSION = { memoryPattern: false } as const;

export interface TrainGraphOptions {
  batchSize: number;
  adamw: Omit<AdamWConfig, 'decays'>;
  /** Also output forward.* tensors and grad.<param> (for `cliplab step` parity checks). */
  debugOutputs?: boolean;
  /** Parameters to keep frozen (no gradient, no update), e.g. a locked tower. */
  frozen?: (name: string) => boolean;
}

export interface TrainGraph {
  graph: Graph;
  ps: ParamStore;
  trainable: string[];
  buffers: string[];
}

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

  const shapes = new Map(ps.specs.map((s) => [s.name, s.shape]));
  const params = ps.trainable().filter((p) => !opts.frozen?.(p.name));
  const grads = g.within('backward', () => grad(loss, params.map((p) => p.tensor)));
  if (opts.debugOutputs) {
    g.output('forward.image_features', fwd.imageFeatures);
    g.output('forward.text_features', fwd.textFeatures);
    g.output('forward.logits_per_image', logitsPerImage);
    g.output('forward.logits_per_text', logitsPerText);
    params.forEach((p, i) => grads[i] && g.output(`grad.${p.name}`, grads[i]!));
  }
  // Updates wait for every gradient, so the runner may write each new value over the old one (state held once).
  addAdamW(g, params, grads, {
    ...opts.adamw,
    afterAllGradients: true,
    decays: (name) => openclipDecays(name, shapes.get(name) ?? []),
    clamp: { logit_scale: [0, LOGIT_SCALE_MAX] },
  });
  for (const u of updates) g.output(nextName(u.name), u.value);
  const buffers = updates.map((u) => u.name);
  return { graph: g, ps, trainable: params.map((p) => p.name), buffers };
}

/** Initial carried state: parameters and buffers from `values`, zero AdamW moments. */
export function initialTrainState(tg: TrainGraph, values: Map<string, Float32Array>, moments?: Map<string, Float32Array>): Map<string, Float32Array> {
  const state = new Map<string, Float32Array>();
  for (const s of tg.ps.specs) {
    const v = values.get(s.name);
    if (v) state.set(s.name, v);
  }
  for (const name of tg.trainable) {
    const n = values.get(name)?.length ?? 0;
    for (const k of ['m', 'v'] as const) state.set(stateName(k, name), moments?.get(stateName(k, name)) ?? new Float32Array(n));
  }
  return state;
}
