// What the backward pass keeps from the forward pass: the activations it reads, checked against what torch's
// autograd saves for the same layers.
import { describe, it, expect } from 'vitest';
import * as G from './index.js';
import { ParamStore } from '../nn/params.js';
import { transformer } from '../nn/attention.js';

/** loss = sum(f(...) * c) with a constant c, so the loss itself saves nothing; returns the saved tensors. */
function saved(build: (g: G.Graph, ps: ParamStore) => { out: G.Tensor; wrt: G.Tensor[] }): G.SavedTensor[] {
  const g = new G.Graph('t');
  const ps = new ParamStore(g);
  const { out, wrt } = build(g, ps);
  const c = g.constant(new Float32Array(out.shape.reduce<number>((a, d) => a * (d as number), 1)).fill(0.5), out.shape, 'float32');
  const loss = G.sum(G.mul(out, c));
  const from = g.nodes.length;
  g.within('backward', () => G.grad(loss, wrt)).forEach((t, i) => t && g.output(`g${i}`, t));
  return G.savedForBackward(g, from);
}

describe('savedForBackward', () => {
  it("keeps only GELU's input (torch's GeluBackward recomputes Φ and φ from it)", () => {
    const s = saved((g) => {
      const x = g.param('x', [3, 5]);
      const h = G.mul(x, x);
      return { out: G.gelu(h), wrt: [x] };
    });
    expect(s.map((t) => t.op)).toEqual(['mul']);
  });

  it("keeps a ReLU's output, not its input (the mask is y > 0, as torch's threshold_backward takes it)", () => {
    const s = saved((g) => {
      const x = g.param('x', [3, 5]);
      const w = g.param('w', [5]);
      return { out: G.mul(G.relu(G.add(x, x)), w), wrt: [x, w] };
    });
    expect(s.map((t) => t.op)).toEqual(['relu']);
  });

  it('keeps no transposed copy of a linear layer’s weight (the VJP of x @ Wᵀ reads W itself)', () => {
    const s = saved((g) => {
      const x = g.param('x', [2, 3, 4]);
      const w = g.param('w', [5, 4]);
      const a = G.relu(x);
      return { out: G.matmul(a, G.mT(w)), wrt: [x, w] };
    });
    expect(s.map((t) => t.op)).toEqual(['relu']);
  });

  it('keeps 15 activations of width D per token for a pre-norm transformer block, one fewer than torch', () => {
    // torch (nn.MultiheadAttention, OpenCLIP's ResidualAttentionBlock) saves per token: ln_1's output, the packed
    // q|k|v projection (3 D: k and v are views into it), q scaled, the attention output (1 D), ln_2's input and
    // output, c_fc's output (4 D) and GELU's output (4 D), i.e. 16 D, plus the softmax (H·T per token) and the
    // two layer norms' mean and 1/std. Here q is scaled into a tensor of its own and k and v are kept as their
    // slices, so the packed projection is not: 15 D. The block's input is a graph input, not counted.
    const [B, T, D, H] = [2, 3, 8, 2];
    const s = saved((g, ps) => {
      const x = g.input('x', [B, T, D]);
      return { out: transformer(ps, 'tr', x, { width: D, layers: 1, heads: H, mlpRatio: 4, act: 'gelu' }), wrt: ps.trainable().map((p) => p.tensor) };
    });
    const floats = s.reduce((a, t) => a + t.bytes, 0) / 4;
    expect(floats).toBe(B * T * (15 * D + H * T + 2 * 2));
  });
});
