// Shape primitives: reshape, transpose, slice, pad, concat, broadcast, gather/scatter rows, one-hot, argmax.
import { GraphError } from '../../util/errors.js';
import { defineOp, type EmitCtx } from '../registry.js';
import type { Tensor } from '../graph.js';
import { type Dim, type TensorType, isFloat, normAxis, shapeStr, broadcastShapes, sameShape } from '../types.js';

/** Reshape target entries: a size, 0 = copy the input's dim at this position, -1 = infer (at most one). */
function reshapeInfer(x: TensorType, target: readonly number[]): Dim[] {
  const out: Dim[] = [];
  let known = 1;
  let inferAt = -1;
  const symbolic: Dim[] = [];
  target.forEach((d, i) => {
    if (d === 0) {
      if (i >= x.shape.length) throw new GraphError(`reshape: 0 at position ${i} but input has rank ${x.shape.length}`);
      const s = x.shape[i]!;
      out.push(s);
      if (typeof s === 'number') known *= s;
      else symbolic.push(s);
    } else if (d === -1) {
      if (inferAt >= 0) throw new GraphError('reshape: more than one -1 in target');
      inferAt = i;
      out.push(-1);
    } else if (d > 0) {
      out.push(d);
      known *= d;
    } else throw new GraphError(`reshape: bad target dim ${d}`);
  });
  // Static part of the input's size, and its symbolic dims (which must be carried by 0 or -1).
  let inStatic = 1;
  const inSym: Dim[] = [];
  for (const d of x.shape) {
    if (typeof d === 'number') inStatic *= d;
    else inSym.push(d);
  }
  const remaining = inSym.filter((s) => !symbolic.includes(s));
  if (inferAt >= 0) {
    if (inStatic % known !== 0) throw new GraphError(`reshape: cannot infer -1 for ${shapeStr(x.shape)} -> [${target}]`);
    const rest = inStatic / known;
    if (remaining.length === 0) out[inferAt] = rest;
    else if (remaining.length === 1 && rest === 1) out[inferAt] = remaining[0]!;
    else if (remaining.length === 1) out[inferAt] = `${remaining[0]}*${rest}`;
    else throw new GraphError(`reshape: -1 would merge several symbolic dims of ${shapeStr(x.shape)}`);
  } else if (remaining.length > 0 || known !== inStatic) {
    throw new GraphError(`reshape: ${shapeStr(x.shape)} cannot become [${target}]`);
  }
  return out;
}

/**
 * `t`'s shape as an ONNX value: a constant where it is static, else a Shape node. A Shape node would keep the
 * whole tensor alive until it runs, and VJPs take shapes from forward activations.
 */
function shapeOf(ctx: EmitCtx, name: string, t: TensorType): string {
  if (t.shape.every((d) => typeof d === 'number')) return ctx.int64s(t.shape as number[]);
  const s = ctx.tmp('shape');
  ctx.node('Shape', [name], [s]);
  return s;
}

defineOp<{ shape: number[] }>({
  name: 'reshape',
  infer: ([x], { shape }) => [{ dtype: x!.dtype, shape: reshapeInfer(x!, shape) }],
  emit: (ctx, i, o, { shape }) => ctx.node('Reshape', [i[0]!, ctx.int64s(shape)], o),
  vjp: ({ inputs: [x], cotangents: [g] }) => [reshapeLike(g!, x!)],
});

/** Reshape `x` to the run-time shape of `like` (used by VJPs where shapes may be symbolic). */
defineOp({
  name: 'reshape_like',
  infer: ([x, like]) => [{ dtype: x!.dtype, shape: like!.shape }],
  emit: (ctx, [x, like], o, _a, [, t]) => ctx.node('Reshape', [x!, shapeOf(ctx, like!, t!)], o),
  shapeOnly: [1],
  vjp: ({ inputs: [x], cotangents: [g] }) => [reshapeLike(g!, x!), null],
});

export function reshape(x: Tensor, shape: number[]): Tensor {
  return x.graph.apply('reshape', [x], { shape })[0]!;
}

export function reshapeLike(x: Tensor, like: Tensor): Tensor {
  if (sameShape(x.shape, like.shape)) return x;
  return x.graph.apply('reshape_like', [x, like])[0]!;
}

defineOp<{ perm: number[] }>({
  name: 'transpose',
  infer: ([x], { perm }) => {
    if (perm.length !== x!.shape.length || [...perm].sort().some((p, i) => p !== i))
      throw new GraphError(`transpose: perm [${perm}] is not a permutation of rank ${x!.shape.length}`);
    return [{ dtype: x!.dtype, shape: perm.map((p) => x!.shape[p]!) }];
  },
  emit: (ctx, i, o, { perm }) => ctx.node('Transpose', i, o, { perm }),
  vjp: ({ cotangents: [g], attrs: { perm } }) => {
    const inv = new Array<number>(perm.length);
    perm.forEach((p, i) => (inv[p] = i));
    return [transpose(g!, inv)];
  },
});

/**
 * A transpose of a transpose is one transpose of the original, and none when the two cancel. This matters for
 * memory, not speed: a linear layer's x @ Wᵀ has the VJP g @ (Wᵀ)ᵀ, which without this would keep the transposed
 * copy of every weight alive from the forward pass to the backward one (0.5 GB at ViT-B-32).
 */
export function transpose(x: Tensor, perm: number[]): Tensor {
  const inner = x.node?.op === 'transpose' ? x.node : null;
  const src = inner ? inner.inputs[0]! : x;
  const full = inner ? perm.map((p) => (inner.attrs.perm as number[])[p]!) : perm;
  if (full.length === src.rank && full.every((p, i) => p === i)) return src;
  return src.graph.apply('transpose', [src], { perm: full })[0]!;
}

/** Swap the last two axes. */
export function mT(x: Tensor): Tensor {
  const r = x.rank;
  const perm = [...Array(r).keys()];
  perm[r - 1] = r - 2;
  perm[r - 2] = r - 1;
  return transpose(x, perm);
}

function staticDim(x: TensorType, axis: number, op: string): number {
  const d = x.shape[axis]!;
  if (typeof d !== 'number') throw new GraphError(`${op}: axis ${axis} has symbolic size '${d}'`);
  return d;
}

defineOp<{ axis: number; start: number; end: number }>({
  name: 'slice',
  infer: ([x], { axis, start, end }) => {
    const a = normAxis(axis, x!.shape.length, 'slice');
    const n = staticDim(x!, a, 'slice');
    if (!(0 <= start && start < end && end <= n)) throw new GraphError(`slice: [${start}, ${end}) out of range for size ${n}`);
    const shape = [...x!.shape];
    shape[a] = end - start;
    return [{ dtype: x!.dtype, shape }];
  },
  emit: (ctx, i, o, { axis, start, end }) =>
    ctx.node('Slice', [i[0]!, ctx.int64s([start]), ctx.int64s([end]), ctx.int64s([axis])], o),
  vjp: ({ inputs: [x], cotangents: [g], attrs: { axis, start, end } }) => {
    const a = normAxis(axis, x!.rank, 'slice');
    return [pad(g!, a, start, (x!.shape[a] as number) - end)];
  },
});

export function slice(x: Tensor, axis: number, start: number, end: number): Tensor {
  return x.graph.apply('slice', [x], { axis, start, end })[0]!;
}

defineOp<{ axis: number; before: number; after: number }>({
  name: 'pad',
  infer: ([x], { axis, before, after }) => {
    const a = normAxis(axis, x!.shape.length, 'pad');
    const n = staticDim(x!, a, 'pad');
    if (before < 0 || after < 0) throw new GraphError('pad: negative padding');
    const shape = [...x!.shape];
    shape[a] = n + before + after;
    return [{ dtype: x!.dtype, shape }];
  },
  emit: (ctx, i, o, { axis, before, after }, [x]) => {
    const r = x!.shape.length;
    const a = normAxis(axis, r, 'pad');
    const pads = new Array<number>(2 * r).fill(0);
    pads[a] = before;
    pads[r + a] = after;
    ctx.node('Pad', [i[0]!, ctx.int64s(pads)], o, { mode: 'constant' });
  },
  vjp: ({ inputs: [x], cotangents: [g], attrs: { axis, before } }) => {
    const a = normAxis(axis, x!.rank, 'pad');
    return [slice(g!, a, before, before + (x!.shape[a] as number))];
  },
});

export function pad(x: Tensor, axis: number, before: number, after: number): Tensor {
  if (before === 0 && after === 0) return x;
  return x.graph.apply('pad', [x], { axis, before, after })[0]!;
}

defineOp<{ axis: number }>({
  name: 'concat',
  infer: (ins, { axis }) => {
    const first = ins[0]!;
    const a = normAxis(axis, first.shape.length, 'concat');
    let total = 0;
    for (const t of ins) {
      if (t.dtype !== first.dtype) throw new GraphError(`concat: dtype mismatch ${first.dtype} vs ${t.dtype}`);
      if (t.shape.length !== first.shape.length || t.shape.some((d, i) => i !== a && d !== first.shape[i]))
        throw new GraphError(`concat: shapes ${ins.map((x) => shapeStr(x.shape)).join(' ')} differ off axis ${a}`);
      total += staticDim(t, a, 'concat');
    }
    const shape = [...first.shape];
    shape[a] = total;
    return [{ dtype: first.dtype, shape }];
  },
  emit: (ctx, i, o, { axis }) => ctx.node('Concat', i, o, { axis }),
  vjp: ({ inputs, cotangents: [g], attrs: { axis } }) => {
    const a = normAxis(axis, inputs[0]!.rank, 'concat');
    let at = 0;
    return inputs.map((x) => {
      const n = x.shape[a] as number;
      const piece = slice(g!, a, at, at + n);
      at += n;
      return piece;
    });
  },
});

export function concat(xs: Tensor[], axis: number): Tensor {
  if (xs.length === 0) throw new GraphError('concat: no inputs');
  return xs[0]!.graph.apply('concat', xs, { axis })[0]!;
}

/** Broadcast `x` to the shape of `like` (run-time shape, so symbolic batch dims work). */
defineOp({
  name: 'expand_like',
  infer: ([x, like]) => {
    const s = broadcastShapes(x!.shape, like!.shape);
    if (!s || !sameShape(s, like!.shape))
      throw new GraphError(`expand_like: ${shapeStr(x!.shape)} does not broadcast to ${shapeStr(like!.shape)}`);
    return [{ dtype: x!.dtype, shape: like!.shape }];
  },
  emit: (ctx, [x, like], o, _a, [, t]) => ctx.node('Expand', [x!, shapeOf(ctx, like!, t!)], o),
  shapeOnly: [1],
  // The autodiff sums the cotangent back to x's shape.
  vjp: ({ cotangents: [g] }) => [g!, null],
});

export function expandLike(x: Tensor, like: Tensor): Tensor {
  if (sameShape(x.shape, like.shape)) return x;
  return x.graph.apply('expand_like', [x, like])[0]!;
}

defineOp({
  name: 'zeros_like',
  infer: ([x]) => [x!],
  emit: (ctx, [x], o, _a, [t]) => {
    const s = ctx.tmp('shape');
    ctx.node('Shape', [x!], [s]);
    const zero = ctx.tmp('zero');
    ctx.node('Cast', [ctx.scalar(0, 'float32')], [zero], { to: t!.dtype === 'float64' ? 11 : 1 });
    const z1 = ctx.tmp('zero1');
    ctx.node('Reshape', [zero, ctx.int64s([1])], [z1]);
    ctx.node('Expand', [z1, s], o);
  },
  vjp: null,
});

export function zerosLike(x: Tensor): Tensor {
  return x.graph.apply('zeros_like', [x])[0]!;
}

function checkIndices(idx: TensorType, op: string): void {
  if (idx.dtype !== 'int64' && idx.dtype !== 'int32') throw new GraphError(`${op}: indices must be int64 or int32, got ${idx.dtype}`);
}

/** Rows of `table` ([V, ...]) at `indices` (any shape): out = indices.shape + table.shape[1:]. */
defineOp({
  name: 'gather_rows',
  infer: ([table, idx]) => {
    checkIndices(idx!, 'gather_rows');
    return [{ dtype: table!.dtype, shape: [...idx!.shape, ...table!.shape.slice(1)] }];
  },
  emit: (ctx, i, o) => ctx.node('Gather', i, o, { axis: 0 }),
  vjp: ({ inputs: [table, idx], cotangents: [g] }) => [scatterAddRows(zerosLike(table!), idx!, g!), null],
});

/**
 * `base` with `updates` rows added at `indices` (repeats accumulate). Emitted as ScatterElements
 * (axis 0, add): ScatterND's add reduction loses updates with repeated indices on multi-threaded CPU.
 */
defineOp({
  name: 'scatter_add_rows',
  infer: ([base, idx, upd]) => {
    checkIndices(idx!, 'scatter_add_rows');
    const want = [...idx!.shape, ...base!.shape.slice(1)];
    if (!sameShape(want, upd!.shape)) throw new GraphError(`scatter_add_rows: updates ${shapeStr(upd!.shape)} should be ${shapeStr(want)}`);
    if (base!.dtype !== upd!.dtype) throw new GraphError(`scatter_add_rows: dtype mismatch ${base!.dtype} vs ${upd!.dtype}`);
    return [base!];
  },
  emit: (ctx, [base, idx, upd], o, _a, [b, ix]) => {
    const row = b!.shape.slice(1);
    const rowSize = row.reduce<number>((p, d) => p * (d as number), 1);
    const idx2 = ctx.tmp('idx');
    const i64 = ctx.tmp('idx64');
    ctx.node('Cast', [idx!], [i64], { to: 7 });
    ctx.node('Reshape', [i64, ctx.int64s([-1, 1])], [idx2]);
    const upd2 = ctx.tmp('upd');
    ctx.node('Reshape', [upd!, ctx.int64s([-1, rowSize])], [upd2]);
    const idxB = ctx.tmp('idxb');
    const us = ctx.tmp('ushape');
    ctx.node('Shape', [upd2], [us]);
    ctx.node('Expand', [idx2, us], [idxB]);
    const base2 = ctx.tmp('base');
    ctx.node('Reshape', [base!, ctx.int64s([-1, rowSize])], [base2]);
    const out2 = ctx.tmp('scat');
    ctx.node('ScatterElements', [base2, idxB, upd2], [out2], { axis: 0, reduction: 'add' });
    const bs = ctx.tmp('bshape');
    ctx.node('Shape', [base!], [bs]);
    ctx.node('Reshape', [out2, bs], o);
    void ix;
  },
  vjp: ({ inputs: [, idx], cotangents: [g] }) => [g!, null, gatherRows(g!, idx!)],
});

export function gatherRows(table: Tensor, indices: Tensor): Tensor {
  return table.graph.apply('gather_rows', [table, indices])[0]!;
}

export function scatterAddRows(base: Tensor, indices: Tensor, updates: Tensor): Tensor {
  return base.graph.apply('scatter_add_rows', [base, indices, updates])[0]!;
}

/** One-hot float vectors along a new last axis. No gradient. */
defineOp<{ depth: number; dtype: 'float32' | 'float64' }>({
  name: 'one_hot',
  infer: ([idx], { depth, dtype }) => {
    checkIndices(idx!, 'one_hot');
    return [{ dtype, shape: [...idx!.shape, depth] }];
  },
  emit: (ctx, [idx], o, { depth, dtype }) => {
    const values = ctx.tmp('values');
    ctx.node('Cast', [ctx.int64s([0, 1])], [values], { to: dtype === 'float64' ? 11 : 1 });
    ctx.node('OneHot', [idx!, ctx.int64s([depth]), values], o, { axis: -1 });
  },
  vjp: null,
});

export function oneHot(indices: Tensor, depth: number, dtype: 'float32' | 'float64' = 'float32'): Tensor {
  return indices.graph.apply('one_hot', [indices], { depth, dtype })[0]!;
}

/** Index of the first maximum along `axis` (removed). No gradient. */
defineOp<{ axis: number }>({
  name: 'argmax',
  infer: ([x], { axis }) => {
    const a = normAxis(axis, x!.shape.length, 'argmax');
    return [{ dtype: 'int64', shape: x!.shape.filter((_, i) => i !== a) }];
  },
  emit: (ctx, [x], o, { axis }, [t]) => {
    // ORT's ArgMax kernels are float/int32/uint8/int8 only: compare integer ids as float (exact below 2^24).
    let input = x!;
    if (t!.dtype === 'int64') {
      input = ctx.tmp('argf');
      ctx.node('Cast', [x!], [input], { to: 1 });
    }
    ctx.node('ArgMax', [input], o, { axis, keepdims: 0, select_last_index: 0 });
  },
  vjp: null,
});

export function argmax(x: Tensor, axis: number): Tensor {
  return x.graph.apply('argmax', [x], { axis })[0]!;
}

export { isFloat };

/** Insert size-1 axes at `axes` (positions in the output). */
defineOp<{ axes: number[] }>({
  name: 'unsqueeze',
  infer: ([x], { axes }) => {
    const r = x!.shape.length + axes.length;
    const ax = axes.map((a) => normAxis(a, r, 'unsqueeze')).sort((p, q) => p - q);
    const shape: Dim[] = [];
    let j = 0;
    for (let i = 0; i < r; i++) shape.push(ax.includes(i) ? 1 : x!.shape[j++]!);
    return [{ dtype: x!.dtype, shape }];
  },
  emit: (ctx, i, o, { axes }) => ctx.node('Unsqueeze', [i[0]!, ctx.int64s(axes)], o),
  vjp: ({ inputs: [x], cotangents: [g] }) => [reshapeLike(g!, x!)],
});

export function unsqueeze(x: Tensor, axes: number[]): Tensor {
  return x.graph.apply('unsqueeze', [x], { axes })[0]!;
}
