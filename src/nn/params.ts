// Parameters: named, shaped, with a seeded initializer; declared into a graph as inputs.
import type { Graph, Tensor } from '../graph/index.js';
import type { Rng } from '../util/rng.js';

export type Init = (rng: Rng, n: number) => Float32Array;

export interface ParamSpec {
  name: string;
  shape: number[];
  init: Init;
  /** Buffers (batch-norm running stats) are state, not trained. */
  trainable: boolean;
}

export const zeros: Init = (_r, n) => new Float32Array(n);
export const ones: Init = (_r, n) => new Float32Array(n).fill(1);
export const constant = (v: number): Init => (_r, n) => new Float32Array(n).fill(v);
/** n values of `draw`, in order (a plain loop: Float32Array.from with a callback is ten times slower). */
function drawn(n: number, draw: () => number): Float32Array {
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = draw();
  return out;
}
export const normal = (std: number, mean = 0): Init => (r, n) => drawn(n, () => mean + std * r.normal());
export const uniform = (bound: number): Init => (r, n) => drawn(n, () => r.uniform(-bound, bound));

/** Collects parameter declarations while a model is built into a graph. */
export class ParamStore {
  readonly specs: ParamSpec[] = [];
  private readonly byName = new Map<string, Tensor>();

  /** With `frozen`, parameters found there become graph constants (initializers ORT can pre-pack). */
  constructor(
    readonly graph: Graph,
    private readonly frozen?: Map<string, Float32Array>,
  ) {}

  param(name: string, shape: number[], init: Init): Tensor {
    return this.declare(name, shape, init, true);
  }

  buffer(name: string, shape: number[], init: Init): Tensor {
    return this.declare(name, shape, init, false);
  }

  private declare(name: string, shape: number[], init: Init, trainable: boolean): Tensor {
    const have = this.byName.get(name);
    if (have) return have;
    const value = this.frozen?.get(name);
    const t = value ? this.graph.constant(value, shape, 'float32') : this.graph.input(name, shape, 'float32', trainable ? 'param' : 'state');
    this.specs.push({ name, shape, init, trainable });
    this.byName.set(name, t);
    return t;
  }

  get(name: string): Tensor | undefined {
    return this.byName.get(name);
  }

  trainable(): { name: string; tensor: Tensor }[] {
    return this.specs.filter((s) => s.trainable).map((s) => ({ name: s.name, tensor: this.byName.get(s.name)! }));
  }

  /** Initial values for every declared parameter, drawn in declaration order from `rng`. */
  initialize(rng: Rng): Map<string, Float32Array> {
    const out = new Map<string, Float32Array>();
    for (const s of this.specs) out.set(s.name, s.init(rng, s.shape.reduce((a, b) => a * b, 1)));
    return out;
  }
}
