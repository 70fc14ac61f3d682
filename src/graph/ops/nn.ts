// Fused neural-network primitives ORT runs faster than their compositions: softmax, log-softmax,
// layer norm, 2-D convolution and its transpose.
import { GraphError } from '../../util/errors.js';
import { defineOp } from '../registry.js';
import type { Tensor } from '../graph.js';
import { type TensorType, isFloat, normAxis, shapeStr } from '../types.js';
import { add, mul, sub, div, sqrt, exp, neg, erf } from './elementwise.js';
import { sum, mean, matmul } from './reduce.js';
import { slice, transpose, reshape, pad, concat } from './shape.js';

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

/**
 * Exact GELU, x·Φ(x), emitted as x·0.5·(1 + erf(x / √2)) — the form ORT's GeluFusion recognizes. A primitive,
 * not a composite, for its VJP: torch's g·(Φ(x) + x·φ(x)) recomputed from x alone, so the backward pass keeps one
 * tensor of the MLP's hidden width per block instead of the composite's four (45 MB per image at ViT-B-32).
 */
defineOp({
  name: 'gelu',
  infer: ([x]) => {
    if (!isFloat(x!.dtype)) throw new GraphError(`expects a float tensor, got ${x!.dtype}`);
    return [x!];
  },
  emit: (ctx, [x], [y], _a, [t]) => {
    const [s, e, p, h] = [ctx.tmp('gelu_s'), ctx.tmp('gelu_erf'), ctx.tmp('gelu_p'), ctx.tmp('gelu_h')];
    ctx.node('Div', [x!, ctx.scalar(Math.SQRT2, t!.dtype)], [s]);
    ctx.node('Erf', [s], [e]);
    ctx.node('Add', [e, ctx.scalar(1, t!.dtype)], [p]);
    ctx.node('Mul', [x!, ctx.scalar(0.5, t!.dtype)], [h]);
    ctx.node('Mul', [h, p], [y!]);
  },
  vjp: ({ inputs: [x], cotangents: [g] }) => {
    const cdf = mul(add(erf(div(x!, Math.SQRT2)), 1), 0.5);
    const pdf = mul(exp(mul(mul(x!, x!), -0.5)), 1 / Math.sqrt(2 * Math.PI));
    return [mul(g!, add(cdf, mul(x!, pdf)))];
  },
});

export function gelu(x: Tensor): Tensor {
  return x.graph.apply('gelu', [x])[0]!;
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
  emit: (ctx, [g, w], o, { strides, pads, dilations, outputPadding }, [, wt]) => {
    const kh = wt!.shape[2] as number;
    const kw = wt!.shape[3] as number;
    const unit = strides[0] === 1 && strides[1] === 1 && dilations[0] === 1 && dilations[1] === 1;
    if (unit && outputPadding[0] === 0 && outputPadding[1] === 0 && pads[0] <= kh - 1 && pads[1] <= kw - 1) {
      // Stride 1: the same values as a plain convolution with the kernel's in/out channels swapped and its
      // taps flipped, padded by k-1-p. ORT's Conv is 1.3-2.5x faster than its ConvTranspose at these shapes
      // (ConvTranspose scatters each output column back with col2im; Conv's im2col reads).
      const swapped = ctx.tmp('w_swap');
      ctx.node('Transpose', [w!], [swapped], { perm: [1, 0, 2, 3] });
      let kernel = swapped;
      if (kh > 1 || kw > 1) {
        kernel = ctx.tmp('w_flip');
        const big = -(2 ** 62);
        ctx.node('Slice', [swapped, ctx.int64s([-1, -1]), ctx.int64s([big, big]), ctx.int64s([2, 3]), ctx.int64s([-1, -1])], [kernel]);
      }
      const ph = kh - 1 - pads[0];
      const pw = kw - 1 - pads[1];
      ctx.node('Conv', [g!, kernel], o, { strides: [1, 1], pads: [ph, pw, ph, pw], dilations: [1, 1], group: 1 });
      return;
    }
    ctx.node('ConvTranspose', [g!, w!], o, {
      strides,
      pads: [pads[0], pads[1], pads[0], pads[1]],
      dilations,
      output_padding: outputPadding,
      group: 1,
    });
  },
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
/** [N, C, H, W] -> [C, N*H*W] */
function channelsFirst(t: Tensor): Tensor {
  return reshape(transpose(t, [1, 0, 2, 3]), [t.shape[1] as number, -1]);
}

/** [N, C, H, W] -> [N*H*W, C] */
function pixelsFirst(t: Tensor): Tensor {
  return reshape(transpose(t, [0, 2, 3, 1]), [-1, t.shape[1] as number]);
}

function convWeightGrad(x: Tensor, g: Tensor, kh: number, kw: number, a: Conv2dAttrs): Tensor {
  const plain = a.strides[0] === 1 && a.strides[1] === 1 && a.pads[0] === 0 && a.pads[1] === 0;
  const cin = x.shape[1] as number;
  const cout = g.shape[1] as number;
  if (kh === 1 && kw === 1 && plain) {
    const hw = (x.shape[2] as number) * (x.shape[3] as number);
    if (cout * cin <= hw * (cin + cout)) {
      // Per image g[n] [Cout, HW] @ x[n]^T [HW, Cin], summed over the batch: no layout change of the
      // activations (its per-image products are no larger than the activations themselves).
      const gn = reshape(g, [0, cout, hw]);
      const xn = reshape(x, [0, cin, hw]);
      return reshape(sum(matmul(gn, transpose(xn, [0, 2, 1])), [0]), [cout, cin, 1, 1]);
    }
    // Few pixels per image: dW = g' [Cout, N*HW] @ x' [N*HW, Cin], one GEMM over every pixel of the batch.
    return reshape(matmul(channelsFirst(g), pixelsFirst(x)), [cout, cin, 1, 1]);
  }
  const unit = a.strides[0] === 1 && a.strides[1] === 1 && a.dilations[0] === 1 && a.dilations[1] === 1;
  if (unit) {
    // Stride 1: with both tensors channels first ([C, N, H, W], a transpose that moves whole H*W rows),
    // tap (i, j) of dW is g' [Cout, N*HW] @ window_ij(x')^T [N*HW, Cin]: one GEMM per tap over every
    // pixel of the batch, without stacking the windows into one im2col tensor.
    const ho = g.shape[2] as number;
    const wo = g.shape[3] as number;
    const xt = transpose(x, [1, 0, 2, 3]);
    const xp = pad(pad(xt, 2, a.pads[0], a.pads[0]), 3, a.pads[1], a.pads[1]);
    const gt = reshape(transpose(g, [1, 0, 2, 3]), [cout, -1]);
    const taps: Tensor[] = [];
    for (let i = 0; i < kh; i++) {
      for (let j = 0; j < kw; j++) {
        const win = reshape(slice(slice(xp, 2, i, i + ho), 3, j, j + wo), [cin, -1]);
        taps.push(reshape(matmul(gt, transpose(win, [1, 0])), [cout, cin, 1]));
      }
    }
    return reshape(concat(taps, 2), [cout, cin, kh, kw]);
  }
  const xt = transpose(x, [1, 0, 2, 3]);
  const gt = transpose(g, [1, 0, 2, 3]);
  const dwt = x.graph.apply('conv2d', [xt, gt], { strides: a.dilations, pads: a.pads, dilations: a.strides })[0]!;
  let dw = transpose(dwt, [1, 0, 2, 3]);
  if ((dw.shape[2] as number) > kh) dw = slice(dw, 2, 0, kh);
  if ((dw.shape[3] as number) > kw) dw = slice(dw, 3, 0, kw);
  return dw;
}

export { add, neg };

/**
 * Batch norm in training mode over N, H, W of an NCHW tensor: outputs y, the batch mean [C] and the
 * biased batch variance [C]. One primitive so the backward is the closed form, not a chain of
 * broadcasts; the forward normalizes with ONNX BatchNormalization given the batch statistics.
 */
defineOp<{ eps: number }>({
  name: 'batch_norm_train',
  infer: ([x, w, b]) => {
    if (x!.shape.length !== 4) throw new GraphError('expects NCHW input');
    const c = x!.shape[1];
    for (const p of [w!, b!]) if (p.shape.length !== 1 || p.shape[0] !== c) throw new GraphError(`scale/bias ${shapeStr(p.shape)} must be [${c}]`);
    for (const d of [x!.shape[0], x!.shape[2], x!.shape[3]]) if (typeof d !== 'number') throw new GraphError('needs static N, H, W');
    const stat = { dtype: x!.dtype, shape: [c!] };
    return [x!, stat, stat];
  },
  emit: (ctx, [x, w, b], [y, mu, variance], { eps }) => {
    const axes = ctx.int64s([0, 2, 3]);
    const mu4 = ctx.tmp('mu');
    ctx.node('ReduceMean', [x!, axes], [mu4], { keepdims: 1 });
    const xc = ctx.tmp('xc');
    ctx.node('Sub', [x!, mu4], [xc]);
    const sq = ctx.tmp('sq');
    ctx.node('Mul', [xc, xc], [sq]);
    ctx.node('ReduceMean', [sq, axes], [variance!], { keepdims: 0 });
    ctx.node('Reshape', [mu4, ctx.int64s([-1])], [mu!]);
    ctx.node('BatchNormalization', [x!, w!, b!, mu!, variance!], [y!], { epsilon: eps, training_mode: 0 });
  },
  vjp: ({ inputs: [x, w], outputs: [, mu, variance], cotangents: [g, gMu, gVar], attrs: { eps } }) => {
    const c = x!.shape[1] as number;
    const m = (x!.shape[0] as number) * (x!.shape[2] as number) * (x!.shape[3] as number);
    const as4 = (t: Tensor) => reshape(t, [1, c, 1, 1]);
    // The statistics' own cotangents (zero in training, where they only feed running stats).
    let dxStats: Tensor | null = null;
    if (gMu) dxStats = as4(mul(gMu, 1 / m));
    if (gVar) {
      const t = mul(sub(x!, as4(mu!)), as4(mul(gVar, 2 / m)));
      dxStats = dxStats ? add(t, dxStats) : t;
    }
    if (!g) return [dxStats, null, null];
    // 7 passes over the activation instead of 9: x̂ and the dx combination are one per-channel affine each.
    const rstd = div(1, sqrt(add(variance!, eps)));
    const xhat = channelAffine(x!, rstd, neg(mul(mu!, rstd)));
    const db = sum(g, [0, 2, 3]);
    const dw = sum(mul(g, xhat), [0, 2, 3]);
    const a = mul(w!, rstd);
    const dx = sub(channelAffine(g, a, neg(mul(a, mul(db, 1 / m)))), mul(xhat, as4(mul(a, mul(dw, 1 / m)))));
    return [dxStats ? add(dx, dxStats) : dx, dw, db];
  },
});

export function batchNormTrain(x: Tensor, w: Tensor, b: Tensor, eps = 1e-5): { y: Tensor; mean: Tensor; variance: Tensor } {
  const [y, mean, variance] = x.graph.apply('batch_norm_train', [x, w, b], { eps });
  return { y: y!, mean: mean!, variance: variance! };
}

function poolInfer(x: TensorType, k: number, op: string): [number, number] {
  if (x.shape.length !== 4) throw new GraphError(`${op} expects NCHW input, got ${shapeStr(x.shape)}`);
  const [, , h, w] = x.shape;
  if (typeof h !== 'number' || typeof w !== 'number') throw new GraphError(`${op} needs static H, W`);
  if (!Number.isInteger(k) || k < 1) throw new GraphError(`${op}: window ${k} must be a positive integer`);
  return [h, w];
}

/**
 * Mean over non-overlapping k×k windows (nn.AvgPool2d(k), stride k). A primitive rather than a mean over a
 * reshape: ORT's AveragePool keeps its blocked conv layout in inference, and the backward is a nearest
 * upsample (Resize), 3x faster than broadcasting through Expand.
 */
defineOp<{ k: number }>({
  name: 'avg_pool2d',
  infer: ([x], { k }) => {
    const [h, w] = poolInfer(x!, k, 'avg_pool2d');
    if (h % k !== 0 || w % k !== 0) throw new GraphError(`avg_pool2d: ${shapeStr(x!.shape)} is not a multiple of the window ${k}`);
    return [{ dtype: x!.dtype, shape: [x!.shape[0]!, x!.shape[1]!, h / k, w / k] }];
  },
  emit: (ctx, i, o, { k }) => ctx.node('AveragePool', i, o, { kernel_shape: [k, k], strides: [k, k] }),
  vjp: ({ cotangents: [g], attrs: { k } }) => [mul(upsampleNearest2d(g!, k), 1 / (k * k))],
});

/** Each pixel repeated over a k×k block (nearest upsample by an integer factor); the adjoint of k²·avg_pool2d. */
defineOp<{ k: number }>({
  name: 'upsample_nearest2d',
  infer: ([x], { k }) => {
    const [h, w] = poolInfer(x!, k, 'upsample_nearest2d');
    return [{ dtype: x!.dtype, shape: [x!.shape[0]!, x!.shape[1]!, h * k, w * k] }];
  },
  emit: (ctx, [x], o, { k }) => {
    ctx.node('Resize', [x!, '', ctx.float32s([1, 1, k, k])], o, { mode: 'nearest', coordinate_transformation_mode: 'asymmetric', nearest_mode: 'floor' });
  },
  vjp: ({ cotangents: [g], attrs: { k } }) => [mul(avgPool2d(g!, k), k * k)],
});

export function avgPool2d(x: Tensor, k: number): Tensor {
  if (k === 1) return x;
  return x.graph.apply('avg_pool2d', [x], { k })[0]!;
}

export function upsampleNearest2d(x: Tensor, k: number): Tensor {
  if (k === 1) return x;
  return x.graph.apply('upsample_nearest2d', [x], { k })[0]!;
}

/**
 * x·scale + shift per channel of an NCHW tensor (scale, shift: [C]), in one pass: ONNX BatchNormalization with
 * mean 0, variance 1 and epsilon 0, whose kernel then multiplies by the scale and adds the shift exactly. Used
 * by batch norm's backward, where a Mul and an Add broadcast over [1, C, 1, 1] would be two passes.
 */
defineOp({
  name: 'channel_affine',
  infer: ([x, scale, shift]) => {
    if (x!.shape.length !== 4) throw new GraphError(`channel_affine expects NCHW input, got ${shapeStr(x!.shape)}`);
    const c = x!.shape[1];
    for (const p of [scale!, shift!]) if (p.shape.length !== 1 || p.shape[0] !== c) throw new GraphError(`scale/shift ${shapeStr(p.shape)} must be [${c}]`);
    if (typeof c !== 'number') throw new GraphError('channel_affine needs a static channel count');
    return [x!];
  },
  emit: (ctx, [x, scale, shift], o, _a, [xt]) => {
    const c = xt!.shape[1] as number;
    const zeros = ctx.float32s(new Array<number>(c).fill(0));
    const ones = ctx.float32s(new Array<number>(c).fill(1));
    ctx.node('BatchNormalization', [x!, scale!, shift!, zeros, ones], o, { epsilon: 0, training_mode: 0 });
  },
  vjp: ({ inputs: [x, scale], cotangents: [g] }) => {
    const c = x!.shape[1] as number;
    return [mul(g!, reshape(scale!, [1, c, 1, 1])), sum(mul(g!, x!), [0, 2, 3]), sum(g!, [0, 2, 3])];
  },
});

export function channelAffine(x: Tensor, scale: Tensor, shift: Tensor): Tensor {
  return x.graph.apply('channel_affine', [x, scale, shift])[0]!;
}
