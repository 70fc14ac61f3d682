// Runs a step graph repeatedly with its state (parameters, optimizer moments, buffers) kept in host buffers that
// ping-pong: each `X.next` output is written into the spare buffer of input X (a graph may read X after computing
// X.next). For small graphs such as a linear probe; CLIP training holds its state once (train/train-step.ts).
import { RuntimeError } from '../util/errors.js';
import type { Graph } from '../graph/index.js';
import { Session, type HostTensor, type SessionOptions } from '../runtime/index.js';

export class StepRunner {
  private readonly cur = new Map<string, HostTensor>();
  private readonly spare = new Map<string, HostTensor>();

  private constructor(
    private readonly session: Session,
    /** Names of inputs carried from step to step. */
    readonly carried: string[],
  ) {}

  /** `state` gives the initial value of every carried input (inputs that have an `X.next` output). */
  static async create(graph: Graph, state: Map<string, Float32Array>, opts: SessionOptions = {}): Promise<StepRunner> {
    const outs = new Set(graph.outputs.map((o) => o.name));
    const carried = graph.inputs.filter((i) => outs.has(`${i.name}.next`)).map((i) => i.name);
    const session = await Session.create(graph, opts);
    const r = new StepRunner(session, carried);
    for (const name of carried) {
      const inp = graph.inputByName(name)!;
      const shape = inp.tensor.shape as number[];
      const v = state.get(name);
      if (!v) throw new RuntimeError(`no initial value for '${name}'`);
      const n = shape.reduce((a, b) => a * b, 1);
      if (v.length !== n) throw new RuntimeError(`initial value for '${name}' has ${v.length} values, shape [${shape}] needs ${n}`);
      r.cur.set(name, { data: Float32Array.from(v), shape });
      r.spare.set(name, { data: new Float32Array(n), shape });
    }
    return r;
  }

  /** One run: `feeds` for the non-carried inputs; returns the requested non-carried outputs. */
  async step(feeds: Record<string, HostTensor>, fetch: string[] = []): Promise<Record<string, HostTensor>> {
    const all: Record<string, HostTensor> = { ...feeds };
    const into: Record<string, HostTensor> = {};
    for (const name of this.carried) {
      all[name] = this.cur.get(name)!;
      into[`${name}.next`] = this.spare.get(name)!;
    }
    const names = [...Object.keys(into), ...fetch];
    const out = await this.session.run(all, into, names);
    for (const name of this.carried) {
      const a = this.cur.get(name)!;
      this.cur.set(name, this.spare.get(name)!);
      this.spare.set(name, a);
    }
    const res: Record<string, HostTensor> = {};
    for (const f of fetch) res[f] = out[f]!;
    return res;
  }

  /** Current value of a carried input (a view; copy it to keep it past the next step). */
  get(name: string): Float32Array {
    const t = this.cur.get(name);
    if (!t) throw new RuntimeError(`'${name}' is not carried state`);
    return t.data as Float32Array;
  }

  set(name: string, value: Float32Array): void {
    const t = this.cur.get(name);
    if (!t) throw new RuntimeError(`'${name}' is not carried state`);
    if (t.data.length !== value.length) throw new RuntimeError(`'${name}': ${value.length} values for ${t.data.length}`);
    (t.data as Float32Array).set(value);
  }

  state(): Map<string, Float32Array> {
    return new Map(this.carried.map((n) => [n, Float32Array.from(this.get(n))]));
  }

  async release(): Promise<void> {
    await this.session.release();
  }
}

export function scalarFeeds(values: Record<string, number>): Record<string, HostTensor> {
  const out: Record<string, HostTensor> = {};
  for (const [k, v] of Object.entries(values)) out[k] = { data: Float32Array.of(v), shape: [] };
  return out;
}
