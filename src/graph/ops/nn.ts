// Fused neural-network primitives ORT runs faster than their compositions: softmax, log-softmax,
// layer norm, 2-D convolution and its transpose.
import { GraphError } from '../../util/errors.js';
import { defineOp } from '../registry.js';
import type { Tensor } from '../graph.js';
import { type TensorType, isFloat, normAxis, shapeStr } from '../types.js';
import { add, mul, sub, exp, neg } from './elementwise.js';
import { sum, mean } from './reduce.js';
import { slice, transpose } from './shape.js';

function lastAxisInfer([x]: TensorType[], { axis }: { axis: number }): TensorType[] {
  if (!isFloat(x!.dtype)) throw new GraphError(`expects a float tensor, got ${x!.dtype}`);
  if (normAxis(axis, x!.shape.length, 'softmax') !== x!.shape.length - 1) throw new GraphError('only the last axis is supported');
  return [x!];
}

defineOp<{ axis: number }>({
  name: 'softmax',
  infer: lastAxisInfer,
  emit: (ctx, i, o) => ctx.node('Softmax', i, o, { axis: -1 }),
  vjp: ({ outputs: [y], cotangents: [g] }) => [mul(y!, sub(g!, sum(mul(g!, y!), [-1], true)))],
});

defineOp<{ axis: number }>({
  name: 'log_softmax',
  infer: lastAxisInfer,
  emit: (ctx, i, o) => ctx.node('LogSoftmax', i, o, { axis: -1 }),
  vjp: ({ outputs: [y], cotangents: [g] }) => [sub(g!, mul(exp(y!), sum(g!, [-1], true)))],
});

export function softmax(x: Tensor): Tensor {
  return x.graph.apply('softmax', [x], { axis: -1 })[0]!;
}

export function logSoftmax(x: Tensor): Tensor {
  return x.graph.apply('log_softmax', [x], { axis: -1 })[0]!;
}

/** Layer norm over the last axis. Outputs y and the saved mean and 1/std (for the VJP). */
defineOp<{ eps: number }>({
  name: 'layer_norm',
  infer: ([x, w, b]) => {
    const d = x!.shape[x!.shape.length - 1];
    for (const p of [w!, b!]) {
      if (p.shape.length !== 1 || p.shape[0] !== d) throw new GraphError(`scale/bias ${shapeStr(p.shape)} must be [${d}]`);
      if (p.dtype !== x!.dtype) throw new GraphError(`dtype mismatch ${x!.dtype} vs ${p.dtype}`);
    }
    const stat = { dtype: x!.dtype, shape: [...x!.shape.slice(0, -1), 1] };
    return [x!, stat, stat];
  },
  emit: (ctx, i, o, { eps }) => ctx.node('LayerNormalization', i, o, { axis: -1, epsilon: eps }),
  vjp: ({ inputs: [x, w], outputs: [, mu, rstd], cotangents: [g] }) => {
    if (!g) return [null, null, null];
    const xhat = mul(sub(x!, mu!), rstd!);
    const lead = [...Array(x!.rank - 1).keys()];
    const dw = sum(mul(g, xhat), lead);
    const db = sum(g, lead);
    const dxhat = mul(g, w!);
    const dx = mul(rstd!, sub(sub(dxhat, mean(dxhat, [-1], true)), mul(xhat, mean(mul(dxhat, xhat), [-1], true))));
    return [dx, dw, db];
  },
});

export function layerNorm(x: Tensor, w: Tensor, b: Tensor, eps = 1e-5): Tensor {
  return x.graph.apply('layer_norm', [x, w, b], { eps })[0]!;
}

export interface Conv2dAttrs {
  [k: string]: unknown;
  strides: [number, number];
  pads: [number, number];
  dilations: [number, number];
}

function convOut(n: number, k: number, s: number, p: number, d: number): number {
  return Math.floor((n + 2 * p - d * (k - 1) - 1) / s) + 1;
}

/** NCHW convolution, no bias, groups 1, symmetric padding. */
defineOp<Conv2dAttrs>({
  name: 'conv2d',
  infer: ([x, w], { strides, pads, dilations }) => {
    if (x!.shape.length !== 4 || w!.shape.length !== 4) throw new GraphError('conv2d expects NCHW input and OIHW weight');
    if (x!.shape[1] !== w!.shape[1]) throw new GraphError(`channels differ: input ${shapeStr(x!.shape)}, weight ${shapeStr(w!.shape)}`);
    const [, , h, wd] = x!.shape;
    const [o, , kh, kw] = w!.shape as number[];
    if (typeof h !== 'number' || typeof wd !== 'number') throw new GraphError('conv2d needs static spatial dims');
    const ho = convOut(h, kh!, strides[0], pads[0], dilations[0]);
    const wo = convOut(wd, kw!, strides[1], pads[1], dilations[1]);
    if (ho < 1 || wo < 1) throw new GraphError(`output would be empty for input ${shapeStr(x!.shape)}`);
    return [{ dtype: x!.dtype, shape: [x!.shape[0]!, o!, ho, wo] }];
  },
  emit: (ctx, i, o, { strides, pads, dilations }) =>
    ctx.node('Conv', i, o, { strides, pads: [pads[0], pads[1], pads[0], pads[1]], dilations, group: 1 }),
  vjp: ({ inputs: [x, w], cotangents: [g], attrs }) => [
    convInputGrad(g!, w!, x!.shape[2] as number, x!.shape[3] as number, attrs),
    convWeightGrad(x!, g!, w!.shape[2] as number, w!.shape[3] as number, attrs),
  ],
});

export function conv2d(x: Tensor, w: Tensor, opts: { stride?: number; pad?: number; dilation?: number } = {}): Tensor {
  const s = opts.stride ?? 1;
  const p = opts.pad ?? 0;
  const d = opts.dilation ?? 1;
  return x.graph.apply('conv2d', [x, w], { strides: [s, s], pads: [p, p], dilations: [d, d] })[0]!;
}

/** The adjoint of conv2d in its input: a transposed convolution back to the input's spatial size. */
defineOp<Conv2dAttrs & { outputPadding: [number, number] }>({
  name: 'conv_transpose2d',
  infer: ([g, w], { strides, pads, dilations, outputPadding }) => {
    if (g!.shape[1] !== w!.shape[0]) throw new GraphError(`channels differ: ${shapeStr(g!.shape)} vs weight ${shapeStr(w!.shape)}`);
    const [, , h, wd] = g!.shape as number[];
    const [, c, kh, kw] = w!.shape as number[];
    const size = (n: number, k: number, i: 0 | 1) => (n - 1) * strides[i] - 2 * pads[i] + dilations[i] * (k - 1) + outputPadding[i] + 1;
    return [{ dtype: g!.dtype, shape: [g!.shape[0]!, c!, size(h!, kh!, 0), size(wd!, kw!, 1)] }];
  },
  emit: (ctx, i, o, { strides, pads, dilations, outputPadding }) =>
    ctx.node('ConvTranspose', i, o, {
      strides,
      pads: [pads[0], pads[1], pads[0], pads[1]],
      dilations,
      output_padding: outputPadding,
      group: 1,
    }),
  vjp: ({ inputs: [g, w], cotangents: [gy], attrs }) => {
    const { strides, pads, dilations } = attrs;
    const conv = { strides, pads, dilations };
    // y = convT(g, w) is the adjoint of x -> conv(x, w): its VJPs are conv(gy, w) and the weight grad of conv(gy) against g.
    const dg = gy!.graph.apply('conv2d', [gy!, w!], conv)[0]!;
    const dw = convWeightGrad(gy!, g!, w!.shape[2] as number, w!.shape[3] as number, conv);
    return [dg, dw];
  },
});

function convInputGrad(g: Tensor, w: Tensor, h: number, wd: number, a: Conv2dAttrs): Tensor {
  const kh = w.shape[2] as number;
  const kw = w.shape[3] as number;
  const ho = g.shape[2] as number;
  const wo = g.shape[3] as number;
  const op0 = h - ((ho - 1) * a.strides[0] - 2 * a.pads[0] + a.dilations[0] * (kh - 1) + 1);
  const op1 = wd - ((wo - 1) * a.strides[1] - 2 * a.pads[1] + a.dilations[1] * (kw - 1) + 1);
  return g.graph.apply('conv_transpose2d', [g, w], { ...a, outputPadding: [op0, op1] })[0]!;
}

/**
 * dW of y = conv(x, W): a convolution of x (channels as batch) with g (channels as filters),
 * stride and dilation swapped, cropped to the kernel size.
 */
function convWeightGrad(x: Tensor, g: Tensor, kh: number, kw: number, a: Conv2dAttrs): Tensor {
  const xt = transpose(x, [1, 0, 2, 3]);
  const gt = transpose(g, [1, 0, 2, 3]);
  const dwt = x.graph.apply('conv2d', [xt, gt], { strides: a.dilations, pads: a.pads, dilations: a.strides })[0]!;
  let dw = transpose(dwt, [1, 0, 2, 3]);
  if ((dw.shape[2] as number) > kh) dw = slice(dw, 2, 0, kh);
  if ((dw.shape[3] as number) > kw) dw = slice(dw, 3, 0, kw);
  return dw;
}

export { add, neg };
