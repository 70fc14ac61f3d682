// OpenCLIP's text tower as CLIP holds it: token and positional embeddings, causal transformer, ln_final,
// pooling at the end-of-text token (the largest id; first occurrence), text_projection.
import { type Tensor, add, argmax, gatherRows, matmul, oneHot, reshape, unsqueeze } from '../graph/index.js';
import { type ParamStore, normal } from '../nn/params.js';
import { layerNorm } from '../nn/layers.js';
import { transformer } from '../nn/attention.js';
import type { TextArch } from './arch.js';

export function causalMask(ps: ParamStore, n: number): Tensor {
  const m = new Float32Array(n * n);
  for (let i = 0; i < n; i++) for (let j = i + 1; j < n; j++) m[i * n + j] = -Infinity;
  return ps.graph.constant(m, [n, n], 'float32');
}

export function textTransformer(ps: ParamStore, text: Tensor, t: TextArch, embedDim: number, act: 'gelu' | 'quick_gelu'): Tensor {
  const w = t.width;
  const ctx = t.context_length;
  const projStd = w ** -0.5 * (2 * t.layers) ** -0.5;
  let x = gatherRows(ps.param('token_embedding.weight', [t.vocab_size, w], normal(0.02)), text);
  x = add(x, ps.param('positional_embedding', [ctx, w], normal(0.01)));
  x = transformer(ps, 'transformer', x, {
    width: w,
    layers: t.layers,
    heads: t.heads,
    mlpRatio: t.mlp_ratio ?? 4,
    act,
    mask: causalMask(ps, ctx),
    init: { attn: normal(w ** -0.5), proj: normal(projStd), fc: normal((2 * w) ** -0.5) },
  });
  x = layerNorm(ps, 'ln_final', x, w);
  // x[arange(B), text.argmax(-1)] as a one-hot row times the tokens: [B, 1, T] @ [B, T, W].
  const pick = unsqueeze(oneHot(argmax(text, -1), ctx), [1]);
  const pooled = reshape(matmul(pick, x), [0, w]);
  return matmul(pooled, ps.param('text_projection', [w, embedDim], normal(w ** -0.5)));
}
