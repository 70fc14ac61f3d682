// Runs training steps: the step graph (forward, loss, backward) in one session, its gradients written into the
// flat gradient buffer of FlatAdamW, then AdamW over it. Everything is held once on the host and updated in place:
// parameters, moments and gradients in FlatAdamW's buffers, batch-norm running stats in their own arrays (a running
// stat is read only by its own momentum update, so writing `X.next` over X is safe).
import { FlatAdamW } from './flat-adamw.js';
import { clipParams, gradName, type TrainGraph } from './train-graph.js';
import { nextName } from '../nn/adamw.js';
import { Session, releaseFetched, type HostTensor, type SessionOptions } from '../runtime/index.js';
import { RuntimeError } from '../util/errors.js';

/** What a step graph's parameters and buffers are, as TrainGraph and AccumGraphs both describe them. */
export type CarriedSpec = Pick<TrainGraph, 'ps' | 'trainable' | 'withGrad' | 'buffers' | 'adamw'>;

/**
 * The state a runner carries between steps, held once: parameters and moments in FlatAdamW's flat buffers, batch-norm
 * running stats taken from `values` as they are (no copy).
 */
export async function carriedState(
  spec: CarriedSpec, values: Map<string, Float32Array>, moments: Map<string, Float32Array> | undefined, opts: SessionOptions,
): Promise<{ adamw: FlatAdamW; buffers: Map<string, HostTensor> }> {
  const shapes = new Map(spec.ps.specs.map((s) => [s.name, s.shape as number[]]));
  const has = new Set(spec.withGrad);
  const adamw = await FlatAdamW.create(clipParams(spec.trainable, shapes, (n) => has.has(n)), spec.adamw, values, moments, opts);
  const buffers = new Map<string, HostTensor>();
  for (const name of spec.buffers) {
    const v = values.get(name);
    if (!v) throw new RuntimeError(`no initial value for '${name}'`);
    buffers.set(name, { data: v, shape: shapes.get(name)! });
  }
  return { adamw, buffers };
}

export class TrainStepRunner {
  private constructor(
    private readonly session: Session,
    private readonly adamw: FlatAdamW,
    private readonly buffers: Map<string, HostTensor>,
    private readonly withGrad: string[],
  ) {}

  /**
   * `values` holds every trained parameter and buffer (parameters are copied into the flat buffers; buffers are
   * taken as the runner's own and change with every step); `moments` (resume) default to zero.
   */
  static async create(tg: TrainGraph, values: Map<string, Float32Array>, moments: Map<string, Float32Array> | undefined, opts: SessionOptions): Promise<TrainStepRunner> {
    const { adamw, buffers } = await carriedState(tg, values, moments, opts);
    return new TrainStepRunner(await Session.create(tg.graph, opts), adamw, buffers, tg.withGrad);
  }

  /**
   * One step. `feeds`: the batch, adamwScalars' feeds and any frozen parameters. Returns the outputs named in
   * `fetch` (taken before the update; a `grad.<p>` is a view, valid until the next step).
   */
  async step(feeds: Record<string, HostTensor>, fetch: string[] = []): Promise<Record<string, HostTensor>> {
    const all: Record<string, HostTensor> = { ...feeds };
    const into: Record<string, HostTensor> = {};
    for (const { name } of this.session.inputs) {
      const t = this.adamw.view(name) ?? this.buffers.get(name);
      if (t) all[name] = t;
    }
    for (const [name, t] of this.buffers) into[nextName(name)] = t;
    for (const p of this.withGrad) into[gradName(p)] = this.adamw.view(p, 'g')!;
    const extra = fetch.filter((f) => !(f in into));
    const out = await this.session.run(all, into, [...Object.keys(into), ...extra]);
    await releaseFetched();
    await this.adamw.step(feeds);
    return Object.fromEntries(fetch.map((f) => [f, out[f]!]));
  }

  /** Current value of a parameter, moment or buffer (a view, updated in place by the next step). */
  get(name: string): Float32Array {
    const t = this.adamw.state(name) ?? (this.buffers.get(name)?.data as Float32Array | undefined);
    if (!t) throw new RuntimeError(`'${name}' is not carried state`);
    return t;
  }

  async release(): Promise<void> {
    await this.session.release();
    await this.adamw.release();
  }
}
