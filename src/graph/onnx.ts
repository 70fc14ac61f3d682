// Serializes a Graph to an ONNX ModelProto (protobuf bytes via onnx-proto). Opset 18.
import onnxProto from 'onnx-proto';
import { GraphError } from '../util/errors.js';
import { getOp, type Attrs, type EmitCtx } from './registry.js';
import { type Graph, type HostData, type Tensor, liveNodes } from './graph.js';
import { type DType, scalarData } from './types.js';

const { onnx } = onnxProto;
export const OPSET = 18;

const ELEM: Record<DType, number> = { float32: 1, float64: 11, int64: 7, int32: 6, bool: 9 };

export function valueName(t: Tensor, g: Graph): string {
  const input = g.inputs.find((i) => i.tensor === t);
  return input ? input.name : `t${t.id}`;
}

function bytesOf(data: HostData): Uint8Array {
  return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
}

function attribute(name: string, v: unknown): onnxProto.onnx.IAttributeProto {
  const A = onnx.AttributeProto.AttributeType;
  if (typeof v === 'number') {
    return Number.isInteger(v) && !Object.is(v, -0) && name !== 'epsilon' && name !== 'alpha' && name !== 'beta'
      ? { name, type: A.INT, i: v }
      : { name, type: A.FLOAT, f: v };
  }
  if (typeof v === 'string') return { name, type: A.STRING, s: new TextEncoder().encode(v) };
  if (Array.isArray(v) && v.every((x) => Number.isInteger(x))) return { name, type: A.INTS, ints: v as number[] };
  if (Array.isArray(v)) return { name, type: A.FLOATS, floats: v as number[] };
  throw new GraphError(`attribute '${name}' has unsupported value ${String(v)}`);
}

export function toModelProto(g: Graph): onnxProto.onnx.ModelProto {
  const nodes: onnxProto.onnx.INodeProto[] = [];
  const initializers: onnxProto.onnx.ITensorProto[] = [];
  const constCache = new Map<string, string>();
  /** A constant initializer, one per distinct key (dtype and values). */
  const constant = (key: string, dataType: number, dims: number[], raw: () => Uint8Array): string => {
    let name = constCache.get(key);
    if (!name) {
      name = `_c${constCache.size}`;
      constCache.set(key, name);
      initializers.push({ name, dataType, dims, rawData: raw() });
    }
    return name;
  };
  let tmpId = 0;
  // Node names carry the cliplab op and builder scope, so ORT profiles point back to model code.
  let label = '';

  const ctx: EmitCtx = {
    node(opType, inputs, outputs, attrs: Attrs = {}) {
      nodes.push({
        opType,
        input: inputs,
        output: outputs,
        name: `n${nodes.length}_${opType}|${label}`,
        attribute: Object.entries(attrs).map(([k, v]) => attribute(k, v)),
      });
    },
    tmp(hint = 'tmp') {
      return `_${hint}${tmpId++}`;
    },
    int64s(values) {
      return constant(`i64:${values.join(',')}`, ELEM.int64, [values.length], () => bytesOf(BigInt64Array.from(values.map(BigInt))));
    },
    float32s(values) {
      return constant(`f32:${values.join(',')}`, ELEM.float32, [values.length], () => bytesOf(Float32Array.from(values)));
    },
    scalar(value, dtype) {
      return constant(`${dtype}:${value}`, ELEM[dtype], [], () => bytesOf(scalarData(value, dtype)));
    },
  };

  const live = liveNodes(g); // dead nodes are not written
  const usedIds = new Set<number>();
  for (const n of g.nodes) if (live.has(n.id)) for (const t of n.inputs) usedIds.add(t.id);
  for (const o of g.outputs) usedIds.add(o.tensor.id);

  // A graph output computed by a node takes the output's name itself, so the node writes straight into the
  // caller's preallocated buffer: an Identity per output would be one more pass over every state tensor
  // (RN50: 137 ms per step). Inputs, constants and a tensor's second output name still get an Identity.
  const sourced = new Set([...g.inputs.map((i) => i.tensor.id), ...g.constants.map((c) => c.tensor.id)]);
  const direct = new Map<number, string>();
  for (const o of g.outputs) if (!sourced.has(o.tensor.id) && !direct.has(o.tensor.id)) direct.set(o.tensor.id, o.name);
  const nameOf = (t: Tensor): string => direct.get(t.id) ?? valueName(t, g);

  for (const c of g.constants) {
    if (!usedIds.has(c.tensor.id)) continue;
    initializers.push({ name: valueName(c.tensor, g), dataType: ELEM[c.tensor.dtype], dims: c.tensor.shape as number[], rawData: bytesOf(c.data) });
  }
  for (const n of g.nodes) {
    if (!live.has(n.id)) continue;
    const op = getOp(n.op);
    label = `${n.op}@${n.scope}`;
    op.emit(ctx, n.inputs.map(nameOf), n.outputs.map(nameOf), n.attrs, n.inputs);
  }
  label = 'output';
  for (const o of g.outputs) if (direct.get(o.tensor.id) !== o.name) ctx.node('Identity', [nameOf(o.tensor)], [o.name]);

  const valueInfo = (name: string, t: Tensor): onnxProto.onnx.IValueInfoProto => ({
    name,
    type: {
      tensorType: {
        elemType: ELEM[t.dtype],
        shape: { dim: t.shape.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d })) },
      },
    },
  });

  return onnx.ModelProto.create({
    irVersion: 8,
    producerName: 'cliplab',
    opsetImport: [{ domain: '', version: OPSET }],
    graph: {
      name: g.name,
      node: nodes,
      initializer: initializers,
      input: g.inputs.filter((i) => usedIds.has(i.tensor.id)).map((i) => valueInfo(i.name, i.tensor)),
      output: g.outputs.map((o) => valueInfo(o.name, o.tensor)),
    },
  });
}

export function toOnnxBytes(g: Graph): Uint8Array {
  return onnx.ModelProto.encode(toModelProto(g)).finish();
}
