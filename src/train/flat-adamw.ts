// AdamW as a stage of its own: the trained parameters, both moments and the gradients each live in one flat host
// buffer (every tensor a view into it), and one small shape-generic session per variant (decayed or not, clamped)
// updates them a contiguous chunk at a time, in place. Why not inside the step graph: onnxruntime-node returns each
// fetched output as a copy, so an in-graph update of the whole state held parameters and moments twice at the
// step's peak (1.7 GB at ViT-B-32); chunked, the copy is three chunks. The arithmetic per element is addAdamW's.
import { adamwChunkGraph, clipCoef, gradNorm, nextName, stateName, CHUNK_INPUTS, ADAMW_INPUTS, type AdamWConfig, type ChunkVariant } from '../nn/adamw.js';
import { Graph } from '../graph/index.js';
import { Session, releaseFetched, type HostTensor, type SessionOptions } from '../runtime/index.js';
import { RuntimeError } from '../util/errors.js';

/**
 * Values per chunk run: 1 MB per buffer, so a run's dozen intermediates stay in cache and only p, m, v and g
 * travel to memory (151 M values, 2 threads: 1.4 s at this size, 2.3 s at 16 MB chunks); a run fetches 3 MB.
 */
const CHUNK = 1 << 18;

export interface FlatParam {
  name: string;
  shape: readonly number[];
  decays: boolean;
  clamp?: [number, number];
  /** False for a parameter that gets no gradient (unused): it and its moments are carried over unchanged. */
  updated: boolean;
}

interface Run {
  variant: number;
  start: number;
  end: number;
}

export class FlatAdamW {
  private constructor(
    private readonly views: Map<string, { offset: number; n: number; shape: number[] }>,
    private readonly flat: { p: Float32Array; m: Float32Array; v: Float32Array; g: Float32Array },
    private readonly sessions: Session[],
    private readonly runs: Run[],
    /** With global-norm clipping: computes clip_grad_norm_'s factor from every gradient. */
    private readonly coef: Session | null,
    private readonly updated: FlatParam[],
  ) {}

  /**
   * `values` holds every parameter (copied in); `moments` (resume) default to zero. Parameters are laid out by
   * variant, so each variant's values are one contiguous range split into chunks.
   */
  static async create(
    params: FlatParam[], cfg: Pick<AdamWConfig, 'beta1' | 'beta2' | 'eps' | 'clipGradNorm'>,
    values: Map<string, Float32Array>, moments: Map<string, Float32Array> | undefined, opts: SessionOptions,
  ): Promise<FlatAdamW> {
    const key = (p: FlatParam) => (p.updated ? `${p.decays}|${p.clamp ?? ''}` : 'fixed');
    const variants: ChunkVariant[] = [];
    const keys: string[] = [];
    for (const p of params) {
      if (!p.updated || keys.includes(key(p))) continue;
      keys.push(key(p));
      variants.push({ decays: p.decays, clamp: p.clamp, clipped: cfg.clipGradNorm !== undefined });
    }
    const ordered = [...keys, 'fixed'].flatMap((k) => params.filter((p) => key(p) === k));
    const views = new Map<string, { offset: number; n: number; shape: number[] }>();
    const runs: Run[] = [];
    let total = 0;
    for (const p of ordered) {
      const n = p.shape.reduce((a, b) => a * b, 1);
      views.set(p.name, { offset: total, n, shape: [...p.shape] });
      if (p.updated) {
        const variant = keys.indexOf(key(p));
        const last = runs[runs.length - 1];
        if (last && last.variant === variant && last.end === total) last.end = total + n;
        else runs.push({ variant, start: total, end: total + n });
      }
      total += n;
    }
    const flat = { p: new Float32Array(total), m: new Float32Array(total), v: new Float32Array(total), g: new Float32Array(total) };
    for (const p of ordered) {
      const { offset, n } = views.get(p.name)!;
      const v = values.get(p.name);
      if (!v) throw new RuntimeError(`no initial value for '${p.name}'`);
      if (v.length !== n) throw new RuntimeError(`initial value for '${p.name}' has ${v.length} values, shape [${p.shape}] needs ${n}`);
      flat.p.set(v, offset);
      for (const k of ['m', 'v'] as const) {
        const mv = moments?.get(stateName(k, p.name));
        if (mv && mv.length !== n) throw new RuntimeError(`initial value for '${stateName(k, p.name)}' has ${mv.length} values, shape [${p.shape}] needs ${n}`);
        if (mv) flat[k].set(mv, offset);
      }
    }
    const sessions = await Promise.all(variants.map((x) => Session.create(adamwChunkGraph(cfg, x), { ...opts, spinning: false })));
    const updated = ordered.filter((p) => p.updated);
    let coef: Session | null = null;
    if (cfg.clipGradNorm !== undefined && updated.length) {
      const g = new Graph('grad_clip_coef');
      g.output('coef', clipCoef(gradNorm(updated.map((p) => g.input(p.name, p.shape, 'float32'))), cfg.clipGradNorm));
      coef = await Session.create(g, opts);
    }
    return new FlatAdamW(views, flat, sessions, splitRuns(runs), coef, updated);
  }

  /** A view of parameter `name` (or `adamw.m.<p>` / `adamw.v.<p>`, or the gradient with `grad`), updated in place. */
  view(name: string, kind: 'p' | 'm' | 'v' | 'g' = 'p'): HostTensor | undefined {
    const at = this.views.get(name);
    return at && { data: this.flat[kind].subarray(at.offset, at.offset + at.n), shape: at.shape };
  }

  /** Looks up a parameter or a moment by its state name. */
  state(name: string): Float32Array | undefined {
    for (const k of ['m', 'v'] as const) {
      const prefix = stateName(k, '');
      if (name.startsWith(prefix)) return this.view(name.slice(prefix.length), k)?.data as Float32Array | undefined;
    }
    return this.view(name)?.data as Float32Array | undefined;
  }

  /** One AdamW step from the gradients in the flat gradient buffer; `scalars` are adamwScalars' feeds. */
  async step(scalars: Record<string, HostTensor>): Promise<void> {
    const feeds: Record<string, HostTensor> = {};
    for (const k of Object.values(ADAMW_INPUTS)) {
      if (!scalars[k]) throw new RuntimeError(`AdamW step: missing scalar '${k}'`);
      feeds[k] = scalars[k]!;
    }
    if (this.coef) {
      const gs = Object.fromEntries(this.updated.map((p) => [p.name, this.view(p.name, 'g')!]));
      feeds[CHUNK_INPUTS.coef] = (await this.coef.run(gs, {}, ['coef'])).coef!;
    }
    const { p, m, v, g } = this.flat;
    for (const r of this.runs) {
      const part = (a: Float32Array): HostTensor => ({ data: a.subarray(r.start, r.end), shape: [r.end - r.start] });
      const state = { [CHUNK_INPUTS.param]: part(p), [CHUNK_INPUTS.m]: part(m), [CHUNK_INPUTS.v]: part(v) };
      const into = Object.fromEntries(Object.entries(state).map(([k, t]) => [nextName(k), t]));
      await this.sessions[r.variant]!.run({ ...feeds, ...state, [CHUNK_INPUTS.grad]: part(g) }, into);
      await releaseFetched();
    }
  }

  async release(): Promise<void> {
    for (const s of [...this.sessions, ...(this.coef ? [this.coef] : [])]) await s.release();
  }
}

/** Each variant's range cut into chunks (a chunk may span several tensors, and a large tensor several chunks). */
function splitRuns(runs: Run[]): Run[] {
  return runs.flatMap((r) => {
    const out: Run[] = [];
    for (let s = r.start; s < r.end; s += CHUNK) out.push({ variant: r.variant, start: s, end: Math.min(r.end, s + CHUNK) });
    return out;
  });
}
