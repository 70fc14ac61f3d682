// OpenCLIP's VisionTransformer (v2.20.0 defaults): patch embedding, class token, positional embedding,
// ln_pre, pre-norm transformer, class-token pooling, ln_post, proj. Parameter names as `visual.*`.
import { type Tensor, add, concat, expandLike, matmul, reshape, slice, transpose } from '../graph/index.js';
import { type ParamStore, normal, uniform } from '../nn/params.js';
import { layerNorm } from '../nn/layers.js';
import { transformer } from '../nn/attention.js';
import type { VisionArch } from './arch.js';

export function visionTransformer(ps: ParamStore, images: Tensor, v: VisionArch, embedDim: number, act: 'gelu' | 'quick_gelu'): Tensor {
  const p = v.patch_size!;
  const grid = v.image_size / p;
  const w = v.width;
  const scale = w ** -0.5;
  // conv1 (kernel = stride = patch, no bias) as a patchify + matmul: the same numbers, a cheaper gradient.
  const fanIn = 3 * p * p;
  const conv = ps.param('visual.conv1.weight', [w, 3, p, p], uniform(1 / Math.sqrt(fanIn)));
  const patches = reshape(transpose(reshape(images, [0, 3, grid, p, grid, p]), [0, 2, 4, 1, 3, 5]), [0, grid * grid, fanIn]);
  let x = matmul(patches, transpose(reshape(conv, [w, fanIn]), [1, 0]));
  const cls = ps.param('visual.class_embedding', [w], normal(scale));
  x = concat([expandLike(reshape(cls, [1, 1, w]), slice(x, 1, 0, 1)), x], 1);
  x = add(x, ps.param('visual.positional_embedding', [grid * grid + 1, w], normal(scale)));
  x = layerNorm(ps, 'visual.ln_pre', x, w);
  x = transformer(ps, 'visual.transformer', x, { width: w, layers: v.layers as number, heads: w / v.head_width, mlpRatio: v.mlp_ratio, act });
  const pooled = layerNorm(ps, 'visual.ln_post', reshape(slice(x, 1, 0, 1), [0, w]), w);
  return matmul(pooled, ps.param('visual.proj', [w, embedDim], normal(scale)));
}
