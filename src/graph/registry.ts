// The op table: one record per primitive with its shape/dtype rule, ONNX emission and VJP.
import { GraphError } from '../util/errors.js';
import type { DType, TensorType } from './types.js';
import type { Tensor } from './graph.js';

export type Attrs = Record<string, unknown>;

/** What an op's `emit` may do: add ONNX nodes and constants to the model being written. */
export interface EmitCtx {
  /** Append an ONNX node; returns its output names. */
  node(opType: string, inputs: string[], outputs: string[], attrs?: Attrs): void;
  /** A fresh value name for an intermediate. */
  tmp(hint?: string): string;
  /** An int64 1-D constant (shapes, axes, indices). */
  int64s(values: readonly number[]): string;
  /** A float32 1-D constant (such as Resize's scales). */
  float32s(values: readonly number[]): string;
  /** A scalar constant of a given dtype. */
  scalar(value: number, dtype: DType): string;
}

export interface OpDef<A extends Attrs = Attrs> {
  name: string;
  /** Output types from input types; throws GraphError (naming shapes) on bad input. */
  infer(inputs: TensorType[], attrs: A): TensorType[];
  /** ONNX nodes computing `outputs` from `inputs` (value names). */
  emit(ctx: EmitCtx, inputs: string[], outputs: string[], attrs: A, types: TensorType[]): void;
  /**
   * Cotangents of the inputs given cotangents of the outputs (null = zero), built with the builder.
   * `null` as a whole: the op is not differentiable (comparisons, argmax, shapes).
   */
  /**
   * Inputs of which only the shape is read: where it is static, `emit` writes it as a constant, so the input's
   * values are not needed and are not kept alive for this node.
   */
  shapeOnly?: number[];
  vjp:
    | ((args: { inputs: Tensor[]; outputs: Tensor[]; cotangents: (Tensor | null)[]; attrs: A }) => (Tensor | null)[])
    | null;
}

const table = new Map<string, OpDef<any>>();

export function defineOp<A extends Attrs>(def: OpDef<A>): OpDef<A> {
  if (table.has(def.name)) throw new GraphError(`op '${def.name}' registered twice`);
  table.set(def.name, def);
  return def;
}

export function getOp(name: string): OpDef {
  const op = table.get(name);
  if (!op) throw new GraphError(`unknown op '${name}' (registered: ${[...table.keys()].sort().join(', ')})`);
  return op;
}

export function registeredOps(): string[] {
  return [...table.keys()].sort();
}
