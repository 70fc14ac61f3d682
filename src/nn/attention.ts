// Multi-head attention with torch.nn.MultiheadAttention's parameters (in_proj_weight [3D, D], in_proj_bias,
// out_proj) on batch-first [B, T, D] tensors, and the residual blocks of OpenCLIP's Transformer.
import { type Tensor, add, mul, matmul, mT, reshape, transpose, slice, softmax, gelu, quickGelu } from '../graph/index.js';
import { type ParamStore, type Init, zeros, uniform, normal } from './params.js';
import { linear, layerNorm } from './layers.js';

export interface AttentionInit {
  inProj?: Init;
  outProj?: Init;
}

/** Scaled dot-product attention over heads; `mask` is added to the scores ([T, T] or broadcastable). */
export function sdpa(q: Tensor, k: Tensor, v: Tensor, mask?: Tensor): Tensor {
  const dh = q.shape[q.rank - 1] as number;
  let s = matmul(mul(q, 1 / Math.sqrt(dh)), mT(k));
  if (mask) s = add(s, mask);
  return matmul(softmax(s), v);
}

/** [B, T, H*dh] -> [B, H, T, dh] */
function splitHeads(x: Tensor, heads: number, dh: number): Tensor {
  return transpose(reshape(x, [0, 0, heads, dh]), [0, 2, 1, 3]);
}

/** [B, H, T, dh] -> [B, T, H*dh] */
export function mergeHeads(x: Tensor): Tensor {
  return reshape(transpose(x, [0, 2, 1, 3]), [0, 0, -1]);
}

export function multiHeadAttention(ps: ParamStore, name: string, x: Tensor, d: number, heads: number, mask?: Tensor, init: AttentionInit = {}): Tensor {
  const dh = d / heads;
  // torch MHA: xavier_uniform_ in_proj_weight, zero biases, out_proj weight as nn.Linear.
  const w = ps.param(`${name}.in_proj_weight`, [3 * d, d], init.inProj ?? uniform(Math.sqrt(6 / (d + 3 * d))));
  const b = ps.param(`${name}.in_proj_bias`, [3 * d], zeros);
  const qkv = add(matmul(x, mT(w)), b);
  const q = splitHeads(slice(qkv, -1, 0, d), heads, dh);
  const k = splitHeads(slice(qkv, -1, d, 2 * d), heads, dh);
  const v = splitHeads(slice(qkv, -1, 2 * d, 3 * d), heads, dh);
  const o = mergeHeads(sdpa(q, k, v, mask));
  return linear(ps, `${name}.out_proj`, o, d, d, { init: init.outProj, biasInit: zeros });
}

export interface TransformerOptions {
  width: number;
  layers: number;
  heads: number;
  mlpRatio: number;
  act: 'gelu' | 'quick_gelu';
  mask?: Tensor;
  /** OpenCLIP's text-tower init (normal with std per kind); the vision tower keeps torch defaults. */
  init?: { attn: Init; proj: Init; fc: Init };
}

/** OpenCLIP Transformer: pre-norm residual blocks `resblocks.{i}` (ln_1, attn, ln_2, mlp.c_fc, mlp.c_proj). */
export function transformer(ps: ParamStore, name: string, x: Tensor, o: TransformerOptions): Tensor {
  const mlpWidth = Math.round(o.width * o.mlpRatio);
  const act = o.act === 'quick_gelu' ? quickGelu : gelu;
  for (let i = 0; i < o.layers; i++) {
    const p = `${name}.resblocks.${i}`;
    x = ps.graph.within(p, () => {
      const a = multiHeadAttention(ps, `${p}.attn`, layerNorm(ps, `${p}.ln_1`, x, o.width), o.width, o.heads, o.mask, {
        inProj: o.init?.attn,
        outProj: o.init?.proj,
      });
      const h = add(x, a);
      const m1 = linear(ps, `${p}.mlp.c_fc`, layerNorm(ps, `${p}.ln_2`, h, o.width), o.width, mlpWidth, { init: o.init?.fc });
      const m2 = linear(ps, `${p}.mlp.c_proj`, act(m1), mlpWidth, o.width, { init: o.init?.proj });
      return add(h, m2);
    });
  }
  return x;
}

export { normal };
