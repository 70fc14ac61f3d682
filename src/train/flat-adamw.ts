// AdamW as a stage of its own: the trained parameters, both moments and the gradients each live in one flat host
// buffer (every tensor a view into it), and one small shape-generic session per variant (decayed or not, clamped)
// updates them a contiguous chunk at a time, in place. Why not inside the step graph: onnxruntime-node returns each
// fetched output as a copy, so an in-graph update of the whole state held parameters and moments twice at the
// step's peak (1.7 GB at ViT-B-32); chunked, the copy is three chunks. The arithmetic per element is addAdamW's.
//
// Idle blocks: where a block's gradient and both moments are all +0 (an embedding row no batch has used yet: most of
// the 49,408-token vocabulary on a small dataset), addAdamW's arithmetic reduces exactly to p·(1 − lr·wd): m and v
// stay +0, the step is lr·(+0 / eps) = +0. Such blocks get that one multiply here instead of the ORT run; a block is
// live from its first non-zero gradient (or moment, on resume) on. The result is the same bit for bit.
import { adamwChunkGraph, clipCoef, gradNorm, nextName, stateName, CHUNK_INPUTS, ADAMW_INPUTS, type AdamWConfig, type ChunkVariant } from '../nn/adamw.js';
import { Graph } from '../graph/index.js';
import { Session, releaseFetched, type HostTensor, type SessionOptions } from '../runtime/index.js';
import { RuntimeError } from '../util/errors.js';

/**
 * Values per chunk run: 1 MB per buffer, so a run's dozen intermediates stay in cache and only p, m, v and g
 * travel to memory (151 M values, 2 threads: 1.4 s at this size, 2.3 s at 16 MB chunks); a run fetches 3 MB.
 */
const CHUNK = 1 << 18;
/** Values per idle-or-live block (a block of the flat layout; each variant's range starts on a block boundary). */
const BLOCK = 64;
/** Live stretches shorter than this are gathered into a scratch chunk rather than run one by one. */
const DIRECT = 1 << 13;

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
    private readonly flat: Flat,
    private readonly sessions: Session[],
    private readonly variants: ChunkVariant[],
    /** Each variant's contiguous ranges (block-aligned starts). */
    private readonly runs: Run[],
    /** 1 for a live block (see the file's comment), 0 for an idle one. */
    private readonly live: Uint8Array,
    /** With global-norm clipping: computes clip_grad_norm_'s factor from every gradient. */
    private readonly coef: Session | null,
    private readonly updated: FlatParam[],
    /** Whether idle blocks may be skipped: with eps = 0 the full update of an idle value is 0 / 0. */
    private readonly idleBlocks: boolean,
    private readonly gather = new Gather(flat),
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
      const variant = p.updated ? keys.indexOf(key(p)) : -1;
      const last = runs[runs.length - 1];
      // Parameters are grouped by variant, so each variant is one run; it starts on a block boundary.
      if (p.updated && last?.variant !== variant) {
        total = Math.ceil(total / BLOCK) * BLOCK;
        runs.push({ variant, start: total, end: total });
      }
      views.set(p.name, { offset: total, n, shape: [...p.shape] });
      total += n;
      if (p.updated) runs[runs.length - 1]!.end = total;
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
    const live = new Uint8Array(Math.ceil(total / BLOCK));
    const mw = new Uint32Array(flat.m.buffer);
    const vw = new Uint32Array(flat.v.buffer);
    if (moments) for (let i = 0; i < total; i++) if (mw[i] !== 0 || vw[i] !== 0) live[(i / BLOCK) | 0] = 1;
    return new FlatAdamW(views, flat, sessions, variants, runs, live, coef, updated, Math.fround(cfg.eps) > 0);
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
    let coef = 1;
    if (this.coef) {
      const gs = Object.fromEntries(this.updated.map((p) => [p.name, this.view(p.name, 'g')!]));
      feeds[CHUNK_INPUTS.coef] = (await this.coef.run(gs, {}, ['coef'])).coef!;
      coef = feeds[CHUNK_INPUTS.coef]!.data[0] as number;
    }
    for (const r of this.runs) {
      const variant = this.variants[r.variant]!;
      // A NaN clipping factor turns a zero gradient into NaN, and a clamp may move an idle value: no idle blocks then.
      const sparse = this.idleBlocks && Number.isFinite(coef) && !variant.clamp;
      const chunk = (t: Flat, a: number, b: number) => this.runChunk(r.variant, feeds, t, a, b);
      for (const [a, b] of sparse ? this.liveStretches(r) : [[r.start, r.end] as const]) {
        if (b - a >= DIRECT) {
          for (let s = a; s < b; s += CHUNK) await chunk(this.flat, s, Math.min(b, s + CHUNK));
          continue;
        }
        if (this.gather.n + (b - a) > CHUNK) await this.gather.flush(chunk);
        this.gather.add(a, b);
      }
      if (this.gather.n) await this.gather.flush(chunk);
      if (sparse && variant.decays) this.decayIdle(r, feeds[ADAMW_INPUTS.decayFactor]!.data[0] as number);
    }
  }

  /** Marks the blocks of `r` whose gradient is non-zero live, and returns its live stretches as [start, end). */
  private liveStretches(r: Run): (readonly [number, number])[] {
    const gw = new Uint32Array(this.flat.g.buffer, 0, this.flat.g.length);
    const out: [number, number][] = [];
    for (let b = r.start / BLOCK; b * BLOCK < r.end; b++) {
      const s = b * BLOCK;
      const e = Math.min(s + BLOCK, r.end);
      if (!this.live[b]) for (let i = s; i < e; i++) if (gw[i] !== 0) { this.live[b] = 1; break; }
      if (!this.live[b]) continue;
      const last = out[out.length - 1];
      if (last && last[1] === s) last[1] = e;
      else out.push([s, e]);
    }
    return out;
  }

  /** The whole update of an idle block: p · decayFactor (a float32 product, as ORT's Mul). */
  private decayIdle(r: Run, decayFactor: number): void {
    const p = this.flat.p;
    const live = this.live;
    const blocks = Math.ceil((r.end - r.start) / BLOCK) + r.start / BLOCK;
    for (let b = r.start / BLOCK; b < blocks; b++) {
      if (live[b]) continue;
      let e = b + 1;
      while (e < blocks && !live[e]) e++;
      const end = Math.min(e * BLOCK, r.end);
      for (let i = b * BLOCK; i < end; i++) p[i] *= decayFactor;
      b = e;
    }
  }

  private async runChunk(variant: number, feeds: Record<string, HostTensor>, t: Flat, a: number, b: number): Promise<void> {
    const part = (x: Float32Array): HostTensor => ({ data: x.subarray(a, b), shape: [b - a] });
    const state = { [CHUNK_INPUTS.param]: part(t.p), [CHUNK_INPUTS.m]: part(t.m), [CHUNK_INPUTS.v]: part(t.v) };
    const into = Object.fromEntries(Object.entries(state).map(([k, x]) => [nextName(k), x]));
    await this.sessions[variant]!.run({ ...feeds, ...state, [CHUNK_INPUTS.grad]: part(t.g) }, into);
    await releaseFetched();
  }

  async release(): Promise<void> {
    for (const s of [...this.sessions, ...(this.coef ? [this.coef] : [])]) await s.release();
  }
}

type Flat = { p: Float32Array; m: Float32Array; v: Float32Array; g: Float32Array };

/** Short live stretches copied into one chunk-sized buffer, run there, and copied back. */
class Gather {
  private readonly t: Flat = { p: new Float32Array(CHUNK), m: new Float32Array(CHUNK), v: new Float32Array(CHUNK), g: new Float32Array(CHUNK) };
  private readonly spans: [number, number][] = [];
  n = 0;
  constructor(private readonly flat: Flat) {}

  add(a: number, b: number): void {
    for (const k of ['p', 'm', 'v', 'g'] as const) this.t[k].set(this.flat[k].subarray(a, b), this.n);
    this.spans.push([a, b]);
    this.n += b - a;
  }

  async flush(run: (t: Flat, a: number, b: number) => Promise<void>): Promise<void> {
    await run(this.t, 0, this.n);
    let at = 0;
    for (const [a, b] of this.spans) {
      for (const k of ['p', 'm', 'v'] as const) this.flat[k].set(this.t[k].subarray(at, at + b - a), a);
      at += b - a;
    }
    this.spans.length = 0;
    this.n = 0;
  }
}
