// Tensor types of the graph IR: dtypes, shapes with symbolic dims, and the broadcasting rule.
import { GraphError } from '../util/errors.js';

export type DType = 'float32' | 'float64' | 'int64' | 'int32' | 'bool';
/** A dimension: a size, or a name for a size known only at run time (e.g. 'batch'). */
export type Dim = number | string;
export type Shape = readonly Dim[];

export interface TensorType {
  readonly dtype: DType;
  readonly shape: Shape;
}

export const isFloat = (d: DType): boolean => d === 'float32' || d === 'float64';

export const bytesPerElement = (d: DType): number => (d === 'float64' || d === 'int64' ? 8 : d === 'bool' ? 1 : 4);

export function shapeStr(s: Shape): string {
  return `[${s.join(', ')}]`;
}

export function typeStr(t: TensorType): string {
  return `${t.dtype}${shapeStr(t.shape)}`;
}

export function sameShape(a: Shape, b: Shape): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

/** Product of static dims; throws if any dim is symbolic. */
export function numel(s: Shape, what = 'shape'): number {
  let n = 1;
  for (const d of s) {
    if (typeof d !== 'number') throw new GraphError(`${what} ${shapeStr(s)} has symbolic dim '${d}' where a static size is needed`);
    n *= d;
  }
  return n;
}

/** Numpy broadcasting of two shapes; `null` if they do not broadcast. */
export function broadcastShapes(a: Shape, b: Shape): Dim[] | null {
  const n = Math.max(a.length, b.length);
  const out: Dim[] = [];
  for (let i = 0; i < n; i++) {
    const da = i < n - a.length ? 1 : a[i - (n - a.length)]!;
    const db = i < n - b.length ? 1 : b[i - (n - b.length)]!;
    if (da === db) out.push(da);
    else if (da === 1) out.push(db);
    else if (db === 1) out.push(da);
    else return null;
  }
  return out;
}

/** Normalize a possibly negative axis for a tensor of rank `rank`. */
export function normAxis(axis: number, rank: number, op: string): number {
  const a = axis < 0 ? axis + rank : axis;
  if (a < 0 || a >= rank) throw new GraphError(`${op}: axis ${axis} out of range for rank ${rank}`);
  return a;
}

/** A one-element typed array holding `value` in `dtype`. */
export function scalarData(value: number, dtype: DType): Float32Array | Float64Array | BigInt64Array | Int32Array | Uint8Array {
  switch (dtype) {
    case 'float64': return Float64Array.of(value);
    case 'float32': return Float32Array.of(value);
    case 'int64': return BigInt64Array.of(BigInt(value));
    case 'int32': return Int32Array.of(value);
    default: return Uint8Array.of(value ? 1 : 0);
  }
}
