// The graph IR: symbolic tensors, the recorded node list (the tape), inputs, parameters and outputs.
import { GraphError } from '../util/errors.js';
import { getOp, type Attrs } from './registry.js';
import { type DType, type Shape, type TensorType, typeStr, numel } from './types.js';

export type HostData = Float32Array | Float64Array | BigInt64Array | Int32Array | Uint8Array;

export class Tensor implements TensorType {
  constructor(
    readonly graph: Graph,
    readonly id: number,
    readonly dtype: DType,
    readonly shape: Shape,
    /** Producing node, or null for inputs and constants. */
    readonly node: Node | null,
  ) {}

  get rank(): number {
    return this.shape.length;
  }

  toString(): string {
    return `%${this.id}:${typeStr(this)}`;
  }
}

export interface Node {
  readonly id: number;
  readonly op: string;
  readonly inputs: Tensor[];
  readonly outputs: Tensor[];
  readonly attrs: Attrs;
  /** Builder scope at creation (e.g. 'visual.transformer.resblocks.0'), for errors and dumps. */
  readonly scope: string;
}

export type InputKind = 'input' | 'param' | 'state';

export interface GraphInput {
  name: string;
  tensor: Tensor;
  kind: InputKind;
}

export interface Constant {
  tensor: Tensor;
  data: HostData;
}

export class Graph {
  readonly nodes: Node[] = [];
  readonly inputs: GraphInput[] = [];
  readonly constants: Constant[] = [];
  readonly outputs: { name: string; tensor: Tensor }[] = [];
  private nextId = 0;
  private scopes: string[] = [];

  constructor(readonly name = 'cliplab') {}

  get scope(): string {
    return this.scopes.join('.');
  }

  /** Run `fn` with `name` appended to the scope used in error messages and dumps. */
  within<T>(name: string, fn: () => T): T {
    this.scopes.push(name);
    try {
      return fn();
    } finally {
      this.scopes.pop();
    }
  }

  private newTensor(dtype: DType, shape: Shape, node: Node | null): Tensor {
    return new Tensor(this, this.nextId++, dtype, [...shape], node);
  }

  /** A named run-time input (data, or a parameter/optimizer state fed each run). */
  input(name: string, shape: Shape, dtype: DType = 'float32', kind: InputKind = 'input'): Tensor {
    if (this.inputs.some((i) => i.name === name)) throw new GraphError(`input '${name}' declared twice`);
    const t = this.newTensor(dtype, shape, null);
    this.inputs.push({ name, tensor: t, kind });
    return t;
  }

  param(name: string, shape: Shape, dtype: DType = 'float32'): Tensor {
    return this.input(name, shape, dtype, 'param');
  }

  constant(data: HostData, shape: Shape, dtype: DType): Tensor {
    const n = numel(shape, 'constant');
    if (data.length !== n) throw new GraphError(`constant of shape ${typeStr({ dtype, shape })} given ${data.length} values`);
    const t = this.newTensor(dtype, shape, null);
    this.constants.push({ tensor: t, data });
    return t;
  }

  output(name: string, t: Tensor): void {
    if (t.graph !== this) throw new GraphError(`output '${name}' belongs to another graph`);
    if (this.outputs.some((o) => o.name === name)) throw new GraphError(`output '${name}' declared twice`);
    if (this.inputs.some((i) => i.name === name)) throw new GraphError(`output '${name}' has the name of an input`);
    this.outputs.push({ name, tensor: t });
  }

  /** Record one op application; checks types through the op's rule. */
  apply(opName: string, inputs: Tensor[], attrs: Attrs = {}): Tensor[] {
    const op = getOp(opName);
    for (const x of inputs) {
      if (!(x instanceof Tensor)) throw new GraphError(`${opName}${this.at()}: input is not a tensor (${String(x)})`);
      if (x.graph !== this) throw new GraphError(`${opName}${this.at()}: input ${x} belongs to another graph`);
    }
    let types: TensorType[];
    try {
      types = op.infer(inputs, attrs);
    } catch (e) {
      if (e instanceof GraphError) {
        const sig = inputs.map((x) => typeStr(x)).join(', ');
        throw new GraphError(`${opName}${this.at()}: ${e.message} (inputs: ${sig})`);
      }
      throw e;
    }
    const node: Node = { id: this.nodes.length, op: opName, inputs, outputs: [], attrs, scope: this.scope };
    for (const t of types) node.outputs.push(this.newTensor(t.dtype, t.shape, node));
    this.nodes.push(node);
    return node.outputs;
  }

  private at(): string {
    return this.scope ? ` at ${this.scope}` : '';
  }

  inputByName(name: string): GraphInput | undefined {
    return this.inputs.find((i) => i.name === name);
  }
}

/** Whether node `n` reads the values of its input `j`, not only a static shape (see OpDef.shapeOnly). */
export function readsValues(n: Node, j: number): boolean {
  return !(getOp(n.op).shapeOnly?.includes(j) && n.inputs[j]!.shape.every((d) => typeof d === 'number'));
}

/** Ids of the nodes an output depends on: the ones a model of `g` runs. */
export function liveNodes(g: Graph): Set<number> {
  const need = new Set(g.outputs.map((o) => o.tensor.id));
  const keep = new Set<number>();
  for (let i = g.nodes.length - 1; i >= 0; i--) {
    const n = g.nodes[i]!;
    if (!n.outputs.some((o) => need.has(o.id))) continue;
    keep.add(n.id);
    n.inputs.forEach((t, j) => readsValues(n, j) && need.add(t.id));
  }
  return keep;
}
