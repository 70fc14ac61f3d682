// CLIP = image tower + text tower + logit_scale, built into a graph from an OpenCLIP config.
import { Graph, type Tensor, exp, l2Normalize } from '../graph/index.js';
import { ParamStore, constant } from '../nn/params.js';
import type { BatchNormUpdate } from '../nn/batch-norm.js';
import { type ClipArch, isResNet } from './arch.js';
import { visionTransformer } from './vision-transformer.js';
import { modifiedResNet, zeroInitBn3 } from './modified-resnet.js';
import { textTransformer } from './text-transformer.js';
import { Rng } from '../util/rng.js';

export type BnMode = 'train' | 'eval';

export interface ClipGraph {
  ps: ParamStore;
  /** Batch-norm running-stat updates (train mode only). */
  bnUpdates: BatchNormUpdate[];
}

const act = (cfg: ClipArch) => (cfg.quick_gelu ? 'quick_gelu' : 'gelu') as 'gelu' | 'quick_gelu';

export function encodeImage(ps: ParamStore, cfg: ClipArch, images: Tensor, mode: BnMode = 'eval', updates: BatchNormUpdate[] = []): Tensor {
  return isResNet(cfg.vision_cfg)
    ? modifiedResNet(ps, images, cfg.vision_cfg, cfg.embed_dim, mode, updates)
    : visionTransformer(ps, images, cfg.vision_cfg, cfg.embed_dim, act(cfg));
}

export function encodeText(ps: ParamStore, cfg: ClipArch, text: Tensor): Tensor {
  return textTransformer(ps, text, cfg.text_cfg, cfg.embed_dim, act(cfg));
}

export function logitScaleParam(ps: ParamStore): Tensor {
  return ps.param('logit_scale', [], constant(Math.log(1 / 0.07)));
}

export interface ClipForward {
  imageFeatures: Tensor; // normalized
  textFeatures: Tensor; // normalized
  logitScale: Tensor; // exp(param)
}

export function clipForward(ps: ParamStore, cfg: ClipArch, images: Tensor, text: Tensor, mode: BnMode, updates: BatchNormUpdate[]): ClipForward {
  const imageFeatures = l2Normalize(encodeImage(ps, cfg, images, mode, updates));
  const textFeatures = l2Normalize(encodeText(ps, cfg, text));
  return { imageFeatures, textFeatures, logitScale: exp(logitScaleParam(ps)) };
}

/** Every parameter and buffer name with its shape, in the order the model declares them. */
export function stateDictShapes(cfg: ClipArch): Map<string, number[]> {
  const { ps } = declareClip(cfg);
  return new Map(ps.specs.map((s) => [s.name, s.shape]));
}

/** Builds the model into a throwaway graph to learn its parameters. */
export function declareClip(cfg: ClipArch, graph?: Graph): ClipGraph {
  const g = graph ?? new Graph('clip_declare');
  const ps = new ParamStore(g);
  const images = g.input('images', ['B', 3, cfg.vision_cfg.image_size, cfg.vision_cfg.image_size]);
  const text = g.input('text', ['B', cfg.text_cfg.context_length], 'int64');
  const bnUpdates: BatchNormUpdate[] = [];
  clipForward(ps, cfg, images, text, 'eval', bnUpdates);
  return { ps, bnUpdates };
}

/** OpenCLIP's initialization (distributions, not PyTorch's random stream), seeded. */
export function initClip(cfg: ClipArch, seed: number): Map<string, Float32Array> {
  const { ps } = declareClip(cfg);
  const values = ps.initialize(new Rng(seed));
  for (const [name, v] of values) if (zeroInitBn3(name)) v.fill(0);
  return values;
}
