// Registry-driven op tests: every registered primitive has a case here; differentiable ones are
// finite-difference checked, the others checked against a reference computed in the test.
import { describe, it, expect } from 'vitest';
import * as G from './index.js';
import { registeredOps, getOp, type Tensor } from './index.js';
import { checkGrads, evalOnce, type GradInput } from '../../test/support/check-grads.js';

interface GradCase {
  inputs: GradInput[];
  f: (xs: Tensor[]) => Tensor;
  /** Relative tolerance when the case itself loses precision (default: 1e-6 in float64, 2e-2 in float32). */
  tol?: number;
}
interface ForwardCase {
  forward: (g: G.Graph) => Tensor;
  expected: number[];
  shape: number[];
}

const pos = (n: number, lo = 0.5) => Array.from({ length: n }, (_, i) => lo + ((i * 7) % 11) / 5);
const spread = (n: number) => Array.from({ length: n }, (_, i) => ((i * 13) % 17) / 4 - 2 + 0.05);
const f32 = (g: G.Graph, v: number[], s: number[]) => g.constant(Float32Array.from(v), s, 'float32');

const gradCases: Record<string, GradCase> = {
  add: { inputs: [{ shape: [2, 3] }, { shape: [3] }], f: ([a, b]) => G.add(a!, b!) },
  sub: { inputs: [{ shape: [2, 1] }, { shape: [2, 3] }], f: ([a, b]) => G.sub(a!, b!) },
  mul: { inputs: [{ shape: [2, 3] }, { shape: [1, 3] }], f: ([a, b]) => G.mul(a!, b!) },
  div: { inputs: [{ shape: [2, 3] }, { shape: [2, 3], values: pos(6) }], f: ([a, b]) => G.div(a!, b!) },
  max: { inputs: [{ shape: [2, 3], values: spread(6) }, { shape: [3], values: [0.3, -0.2, 1.1] }], f: ([a, b]) => G.maximum(a!, b!) },
  neg: { inputs: [{ shape: [4] }], f: ([a]) => G.neg(a!) },
  exp: { inputs: [{ shape: [4] }], f: ([a]) => G.exp(a!) },
  log: { inputs: [{ shape: [4], values: pos(4) }], f: ([a]) => G.log(a!) },
  sqrt: { inputs: [{ shape: [4], values: pos(4) }], f: ([a]) => G.sqrt(a!) },
  tanh: { inputs: [{ shape: [4] }], f: ([a]) => G.tanh(a!) },
  erf: { inputs: [{ shape: [4] }], f: ([a]) => G.erf(a!) },
  sigmoid: { inputs: [{ shape: [4] }], f: ([a]) => G.sigmoid(a!) },
  relu: { inputs: [{ shape: [6], values: spread(6) }], f: ([a]) => G.relu(a!) },
  gelu: { inputs: [{ shape: [6], values: spread(6) }], f: ([a]) => G.gelu(a!) },
  where: {
    inputs: [{ shape: [2, 3], kind: 'bool', values: [1, 0, 1, 0, 0, 1] }, { shape: [2, 3] }, { shape: [3] }],
    f: ([c, a, b]) => G.where(c!, a!, b!),
  },
  // A float32 round trip inside a float64 graph: differences of 1e-6 steps see float32 rounding.
  cast: { inputs: [{ shape: [3] }], f: ([a]) => G.cast(G.mul(G.cast(a!, 'float32'), 2), a!.dtype), tol: 0.1 },
  clip: { inputs: [{ shape: [6], values: spread(6) }], f: ([a]) => G.clip(a!, -1.1, 0.9) },
  reshape: { inputs: [{ shape: [2, 6] }], f: ([a]) => G.reshape(a!, [3, -1]) },
  reshape_like: { inputs: [{ shape: [2, 6] }, { shape: [4, 3] }], f: ([a, b]) => G.mul(G.reshapeLike(a!, b!), b!) },
  transpose: { inputs: [{ shape: [2, 3, 4] }], f: ([a]) => G.transpose(a!, [2, 0, 1]) },
  slice: { inputs: [{ shape: [3, 5] }], f: ([a]) => G.slice(a!, 1, 1, 4) },
  pad: { inputs: [{ shape: [3, 2] }], f: ([a]) => G.pad(a!, 0, 1, 2) },
  concat: { inputs: [{ shape: [2, 3] }, { shape: [2, 1] }], f: ([a, b]) => G.concat([a!, b!], 1) },
  expand_like: { inputs: [{ shape: [1, 3] }, { shape: [4, 3] }], f: ([a, b]) => G.mul(G.expandLike(a!, b!), b!) },
  unsqueeze: { inputs: [{ shape: [2, 3] }], f: ([a]) => G.unsqueeze(a!, [0, 2]) },
  gather_rows: {
    // Repeated indices with 2 threads: catches scatter kernels that lose concurrent updates.
    inputs: [{ shape: [5, 3] }, { shape: [2, 4], kind: 'int64', values: [1, 3, 1, 1, 0, 3, 3, 1] }],
    f: ([t, i]) => G.gatherRows(t!, i!),
  },
  scatter_add_rows: {
    inputs: [{ shape: [4, 2] }, { shape: [3], kind: 'int64', values: [2, 0, 2] }, { shape: [3, 2] }],
    f: ([b, i, u]) => G.scatterAddRows(b!, i!, u!),
  },
  reduce_sum: { inputs: [{ shape: [2, 3, 4] }], f: ([a]) => G.sum(a!, [0, 2]) },
  reduce_mean: { inputs: [{ shape: [2, 3, 4] }], f: ([a]) => G.mean(a!, [1], true) },
  matmul: { inputs: [{ shape: [2, 3, 4] }, { shape: [4, 5] }], f: ([a, b]) => G.matmul(a!, b!) },
  softmax: { inputs: [{ shape: [2, 5] }], f: ([a]) => G.softmax(a!) },
  log_softmax: { inputs: [{ shape: [2, 5] }], f: ([a]) => G.logSoftmax(a!) },
  layer_norm: { inputs: [{ shape: [2, 3, 6] }, { shape: [6] }, { shape: [6] }], f: ([x, w, b]) => G.layerNorm(x!, w!, b!) },
  conv2d: { inputs: [{ shape: [2, 2, 5, 5] }, { shape: [3, 2, 3, 3] }], f: ([x, w]) => G.conv2d(x!, w!, { stride: 2, pad: 1 }) },
  batch_norm_train: {
    inputs: [{ shape: [2, 3, 2, 2] }, { shape: [3] }, { shape: [3] }],
    f: ([x, w, b]) => {
      const { y, mean, variance } = G.batchNormTrain(x!, w!, b!);
      // The statistics outputs are differentiable too (they feed the running-stat updates).
      return G.add(y, G.reshape(G.add(G.mul(mean, 0.7), G.mul(variance, -1.3)), [1, 3, 1, 1]));
    },
  },
  channel_affine: { inputs: [{ shape: [2, 3, 2, 3] }, { shape: [3] }, { shape: [3] }], f: ([x, s, t]) => G.channelAffine(x!, s!, t!) },
  avg_pool2d: { inputs: [{ shape: [2, 3, 4, 6] }], f: ([x]) => G.avgPool2d(x!, 2) },
  upsample_nearest2d: { inputs: [{ shape: [1, 2, 2, 3] }], f: ([x]) => G.upsampleNearest2d(x!, 3) },
  conv_transpose2d: {
    inputs: [{ shape: [1, 3, 3, 3] }, { shape: [3, 2, 3, 3] }],
    f: ([g, w]) => g!.graph.apply('conv_transpose2d', [g!, w!], { strides: [2, 2], pads: [1, 1], dilations: [1, 1], outputPadding: [0, 0] })[0]!,
  },
};

const forwardCases: Record<string, ForwardCase> = {
  greater: { forward: (g) => G.cast(G.greater(f32(g, [1, 2, 3], [3]), 2), 'float32'), expected: [0, 0, 1], shape: [3] },
  greater_or_equal: { forward: (g) => G.cast(G.greaterOrEqual(f32(g, [1, 2, 3], [3]), 2), 'float32'), expected: [0, 1, 1], shape: [3] },
  less: { forward: (g) => G.cast(G.less(f32(g, [1, 2, 3], [3]), 2), 'float32'), expected: [1, 0, 0], shape: [3] },
  equal: { forward: (g) => G.cast(G.equal(f32(g, [1, 2, 3], [3]), 2), 'float32'), expected: [0, 1, 0], shape: [3] },
  zeros_like: { forward: (g) => G.add(G.zerosLike(f32(g, [5, 6], [2, 1])), 1), expected: [1, 1], shape: [2, 1] },
  one_hot: {
    forward: (g) => G.oneHot(g.constant(BigInt64Array.of(2n, 0n), [2], 'int64'), 3),
    expected: [0, 0, 1, 1, 0, 0],
    shape: [2, 3],
  },
  argmax: {
    // Token ids: the end-of-text token has the largest id; the first maximum wins.
    forward: (g) => G.cast(G.argmax(g.constant(BigInt64Array.of(49406n, 5n, 49407n, 0n, 49406n, 49407n, 9n, 49407n), [2, 4], 'int64'), 1), 'float32'),
    expected: [2, 1],
    shape: [2],
  },
};

describe('op registry', () => {
  it('has a test case for every registered op', () => {
    const missing = registeredOps().filter((op) => !(op in gradCases) && !(op in forwardCases));
    expect(missing).toEqual([]);
  });

  it('finite-difference cases exactly cover the differentiable ops', () => {
    for (const op of registeredOps()) expect([op, getOp(op).vjp !== null]).toEqual([op, op in gradCases]);
  });
});

describe('VJPs match finite differences', () => {
  for (const [name, c] of Object.entries(gradCases)) {
    it(name, async () => {
      const r = await checkGrads(c.f, c.inputs);
      const tol = c.tol ?? (r.dtype === 'float64' ? 1e-6 : 2e-2);
      expect(r.checked).toBeGreaterThan(0);
      expect(r.maxRelErr, `${r.dtype}: ${r.worst}`).toBeLessThan(tol);
    });
  }
});

/** Further cases for ops whose VJP has several branches. */
const extraGradCases: Record<string, GradCase> = {
  'matmul, both batched': { inputs: [{ shape: [2, 3, 4] }, { shape: [2, 4, 2] }], f: ([a, b]) => G.matmul(a!, b!) },
  'matmul, 2-D by batched': { inputs: [{ shape: [3, 4] }, { shape: [2, 4, 2] }], f: ([a, b]) => G.matmul(a!, b!) },
  'conv2d 1x1, stride 1 no pad (per-image products)': { inputs: [{ shape: [2, 2, 4, 4] }, { shape: [2, 2, 1, 1] }], f: ([x, w]) => G.conv2d(x!, w!) },
  'conv2d 1x1, few pixels (one GEMM)': { inputs: [{ shape: [2, 3, 1, 2] }, { shape: [5, 3, 1, 1] }], f: ([x, w]) => G.conv2d(x!, w!) },
  // Stride 1 is emitted as a convolution with the swapped, flipped kernel.
  'conv_transpose2d, stride 1 pad 1': {
    inputs: [{ shape: [2, 3, 4, 5] }, { shape: [3, 2, 3, 2] }],
    f: ([g, w]) => g!.graph.apply('conv_transpose2d', [g!, w!], { strides: [1, 1], pads: [1, 1], dilations: [1, 1], outputPadding: [0, 0] })[0]!,
  },
  'conv_transpose2d 1x1, stride 1': {
    inputs: [{ shape: [2, 3, 2, 2] }, { shape: [3, 4, 1, 1] }],
    f: ([g, w]) => g!.graph.apply('conv_transpose2d', [g!, w!], { strides: [1, 1], pads: [0, 0], dilations: [1, 1], outputPadding: [0, 0] })[0]!,
  },
  // The stride-1 im2col branch of the weight gradient (RN50's 3x3 convs), square and non-square, padded or not.
  'conv2d 3x3, stride 1 pad 1 (im2col)': { inputs: [{ shape: [2, 2, 5, 5] }, { shape: [3, 2, 3, 3] }], f: ([x, w]) => G.conv2d(x!, w!, { stride: 1, pad: 1 }) },
  'conv2d 3x2, stride 1 no pad (im2col)': { inputs: [{ shape: [1, 3, 4, 5] }, { shape: [2, 3, 3, 2] }], f: ([x, w]) => G.conv2d(x!, w!) },
  'transpose of a transpose (one node)': { inputs: [{ shape: [2, 3, 4] }], f: ([a]) => G.transpose(G.transpose(a!, [2, 0, 1]), [0, 2, 1]) },
  'reduce_sum, keepdims over all': { inputs: [{ shape: [2, 3] }], f: ([a]) => G.sum(a!, [0, 1], true) },
};

describe('VJPs match finite differences (extra branches)', () => {
  for (const [name, c] of Object.entries(extraGradCases)) {
    it(name, async () => {
      const r = await checkGrads(c.f, c.inputs);
      expect(r.maxRelErr, `${r.dtype}: ${r.worst}`).toBeLessThan(r.dtype === 'float64' ? 1e-6 : 2e-2);
    });
  }
});

describe('builders', () => {
  it('compose a transpose of a transpose into one, and drop it when the two cancel', async () => {
    const g = new G.Graph('t');
    const x = g.input('x', [2, 3, 4]);
    const y = G.transpose(G.transpose(x, [2, 0, 1]), [0, 2, 1]);
    expect([y.node!.inputs[0], y.node!.attrs.perm, y.shape]).toEqual([x, [2, 1, 0], [4, 3, 2]]);
    expect(G.mT(G.mT(x))).toBe(x);
  });

  it('gelu computes x·Φ(x)', async () => {
    // float32: ORT has no float64 Erf. Φ(1) = 0.8413447460685429, Φ(0.5) = 0.6914624612740131 (normal table values).
    const y = await evalOnce((g) => G.gelu(g.constant(Float32Array.of(1, -1, 0.5, 0), [4], 'float32')));
    const want = [0.8413447460685429, -(1 - 0.8413447460685429), 0.5 * 0.6914624612740131, 0];
    Array.from(y.data, Number).forEach((v, i) => expect(v).toBeCloseTo(want[i]!, 6));
  });
});

describe('non-differentiable ops compute the reference values', () => {
  for (const [name, c] of Object.entries(forwardCases)) {
    it(name, async () => {
      const y = await evalOnce(c.forward);
      expect(y.shape).toEqual(c.shape);
      expect(Array.from(y.data, Number)).toEqual(c.expected);
    });
  }
});
