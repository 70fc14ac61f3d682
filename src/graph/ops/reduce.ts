// Reductions and matrix multiply.
import { GraphError } from '../../util/errors.js';
import { defineOp } from '../registry.js';
import type { Tensor } from '../graph.js';
import { type Dim, type TensorType, broadcastShapes, normAxis, shapeStr } from '../types.js';
import { mul } from './elementwise.js';
import { expandLike, unsqueeze, mT, reshape } from './shape.js';

interface ReduceAttrs {
  [k: string]: unknown;
  axes: number[];
  keepdims: boolean;
}

function reduceInfer([x]: TensorType[], { axes, keepdims }: ReduceAttrs): TensorType[] {
  const r = x!.shape.length;
  const ax = axes.map((a) => normAxis(a, r, 'reduce'));
  const shape: Dim[] = [];
  x!.shape.forEach((d, i) => {
    if (!ax.includes(i)) shape.push(d);
    else if (keepdims) shape.push(1);
  });
  return [{ dtype: x!.dtype, shape }];
}

/** The cotangent of a reduction, broadcast back over the reduced axes. */
function unreduce(g: Tensor, x: Tensor, axes: number[], keepdims: boolean): Tensor {
  let gk = g;
  if (!keepdims) {
    gk = unsqueeze(g, axes.map((a) => normAxis(a, x.rank, 'reduce')));
  }
  return expandLike(gk, x);
}

defineOp<ReduceAttrs>({
  name: 'reduce_sum',
  infer: reduceInfer,
  emit: (ctx, [x], o, { axes, keepdims }) => ctx.node('ReduceSum', [x!, ctx.int64s(axes)], o, { keepdims: keepdims ? 1 : 0 }),
  vjp: ({ inputs: [x], cotangents: [g], attrs: { axes, keepdims } }) => [unreduce(g!, x!, axes, keepdims)],
});

defineOp<ReduceAttrs>({
  name: 'reduce_mean',
  infer: (ins, attrs) => {
    const x = ins[0]!;
    for (const a of attrs.axes) {
      const d = x.shape[normAxis(a, x.shape.length, 'reduce_mean')];
      if (typeof d !== 'number') throw new GraphError(`reduce_mean over symbolic axis '${d}'`);
    }
    return reduceInfer(ins, attrs);
  },
  emit: (ctx, [x], o, { axes, keepdims }) => ctx.node('ReduceMean', [x!, ctx.int64s(axes)], o, { keepdims: keepdims ? 1 : 0 }),
  vjp: ({ inputs: [x], cotangents: [g], attrs: { axes, keepdims } }) => {
    const n = axes.reduce((p, a) => p * (x!.shape[normAxis(a, x!.rank, 'reduce_mean')] as number), 1);
    return [unreduce(mul(g!, 1 / n), x!, axes, keepdims)];
  },
});

export function sum(x: Tensor, axes?: number[], keepdims = false): Tensor {
  return x.graph.apply('reduce_sum', [x], { axes: axes ?? [...Array(x.rank).keys()], keepdims })[0]!;
}

export function mean(x: Tensor, axes?: number[], keepdims = false): Tensor {
  return x.graph.apply('reduce_mean', [x], { axes: axes ?? [...Array(x.rank).keys()], keepdims })[0]!;
}

/** Batched matrix product over the last two axes; leading axes broadcast. Both operands rank >= 2. */
defineOp({
  name: 'matmul',
  infer: ([a, b]) => {
    if (a!.dtype !== b!.dtype) throw new GraphError(`dtype mismatch ${a!.dtype} vs ${b!.dtype}`);
    if (a!.shape.length < 2 || b!.shape.length < 2) throw new GraphError('operands must have rank >= 2');
    const [m, k1] = a!.shape.slice(-2);
    const [k2, n] = b!.shape.slice(-2);
    if (k1 !== k2) throw new GraphError(`inner dims differ: ${shapeStr(a!.shape)} @ ${shapeStr(b!.shape)}`);
    const batch = broadcastShapes(a!.shape.slice(0, -2), b!.shape.slice(0, -2));
    if (!batch) throw new GraphError(`batch dims do not broadcast: ${shapeStr(a!.shape)} @ ${shapeStr(b!.shape)}`);
    return [{ dtype: a!.dtype, shape: [...batch, m!, n!] }];
  },
  emit: (ctx, i, o) => ctx.node('MatMul', i, o),
  vjp: ({ inputs: [a, b], cotangents: [g] }) => {
    const da = matmul(g!, mT(b!));
    // A shared 2-D weight under batched activations: one GEMM over all rows, instead of a batched
    // matmul per leading index followed by a sum (the per-batch GEMMs are tiny and the sum is a pass).
    if (b!.rank === 2 && a!.rank > 2) {
      const k = a!.shape[a!.rank - 1] as number;
      const n = g!.shape[g!.rank - 1] as number;
      return [da, matmul(mT(reshape(a!, [-1, k])), reshape(g!, [-1, n]))];
    }
    return [da, matmul(mT(a!), g!)];
  },
});

export function matmul(a: Tensor, b: Tensor): Tensor {
  return a.graph.apply('matmul', [a, b])[0]!;
}
