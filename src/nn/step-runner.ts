// Runs a step graph repeatedly with its state (parameters, optimizer moments, buffers) kept in host buffers.
// By default they ping-pong: each `X.next` output is written into the spare buffer of input X. With `inPlace`
// (for graphs where nothing reads X after X.next is written, such as the training step with AdamW's
// `afterAllGradients`), `X.next` is written into X's own buffer and the state is held once: the runner then
// takes the caller's initial arrays as its state instead of copying them (they change with every step).
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
    private readonly inPlace: boolean,
    /** Carried inputs whose `X.next` is X itself (no update): never fetched, their buffer is already right. */
    private readonly unchanged: Set<string>,
  ) {}

  /** `state` gives the initial value of every carried input (inputs that have an `X.next` output). */
  static async create(graph: Graph, state: Map<string, Float32Array>, opts: SessionOptions & { inPlace?: boolean } = {}): Promise<StepRunner> {
    const outs = new Map(graph.outputs.map((o) => [o.name, o.tensor]));
    const carried = graph.inputs.filter((i) => outs.has(`${i.name}.next`)).map((i) => i.name);
    const inPlace = opts.inPlace === true;
    const unchanged = new Set(inPlace ? graph.inputs.filter((i) => outs.get(`${i.name}.next`) === i.tensor).map((i) => i.name) : []);
    const session = await Session.create(graph, opts);
    const r = new StepRunner(session, carried, inPlace, unchanged);
    for (const name of carried) {
      const inp = graph.inputByName(name)!;
      const shape = inp.tensor.shape as number[];
      const v = state.get(name);
      if (!v) throw new RuntimeError(`no initial value for '${name}'`);
      const n = shape.reduce((a, b) => a * b, 1);
      if (v.length !== n) throw new RuntimeError(`initial value for '${name}' has ${v.length} values, shape [${shape}] needs ${n}`);
      r.cur.set(name, { data: inPlace ? v : Float32Array.from(v), shape });
      if (!inPlace) r.spare.set(name, { data: new Float32Array(n), shape });
    }
    return r;
  }

  /** One run: `feeds` for the non-carried inputs; returns the requested non-carried outputs. */
  async step(feeds: Record<string, HostTensor>, fetch: string[] = []): Promise<Record<string, HostTensor>> {
    const all: Record<string, HostTensor> = { ...feeds };
    const into: Record<string, HostTensor> = {};
    for (const name of this.carried) {
      all[name] = this.cur.get(name)!;
      if (!this.unchanged.has(name)) into[`${name}.next`] = (this.inPlace ? this.cur : this.spare).get(name)!;
    }
    const names = [...Object.keys(into), ...fetch];
    const out = await this.session.run(all, into, names);
    if (this.inPlace) return Object.fromEntries(fetch.map((f) => [f, out[f]!]));
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
