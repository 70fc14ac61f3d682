// AdamW as a stage of its own: the trained parameters, both moments and the gradients each live in one flat buffer
// (every tensor a view into it), updated in place by a WebAssembly loop (adamw-kernel.ts) one variant's range at a
// time. Why not inside the step graph: onnxruntime-node returns each fetched output as a copy, so an in-graph update
// of the whole state held parameters and moments twice at the step's peak (1.7 GB at ViT-B-32). The buffers live in
// the kernel's memory when they fit in its 4 GiB (every model up to ViT-B and RN50 does); larger states stay in host
// buffers and pass through the kernel's memory a stretch at a time. The arithmetic per element is addAdamW's.
//
// Idle blocks: where a block's gradient and both moments are all +0 (an embedding row no batch has used yet: most of
// the 49,408-token vocabulary on a small dataset), addAdamW's arithmetic reduces exactly to p·(1 − lr·wd): m and v
// stay +0, the step is lr·(+0 / eps) = +0. Such blocks get that one multiply; a block is live from its first
// non-zero gradient (or moment, on resume) on. The result is the same bit for bit.
import { clipCoef, gradNorm, stateName, ADAMW_INPUTS, type AdamWConfig } from '../nn/adamw.js';
import { Graph } from '../graph/index.js';
import { Session, type HostTensor, type SessionOptions } from '../runtime/index.js';
import { RuntimeError } from '../util/errors.js';
import { AdamWKernel, BLOCK, MAX_KERNEL_BYTES, type KernelBuffers, type KernelScalars } from './adamw-kernel.js';

/** Blocks per pass through the kernel's memory when the state does not fit in it (1 MB per buffer). */
const STAGE_BLOCKS = 4096;

export interface FlatParam {
  name: string;
  shape: readonly number[];
  decays: boolean;
  clamp?: [number, number];
  /** False for a parameter that gets no gradient (unused): it and its moments are carried over unchanged. */
  updated: boolean;
}

/** Parameters of one update variant: decayed or not, clamped or not. */
interface Variant {
  decays: boolean;
  clamp?: [number, number];
}

interface Run {
  variant: number;
  /** Block-aligned start; `end` is padded to the next block (the padding belongs to no parameter). */
  start: number;
  end: number;
}

type Flat = { p: Float32Array; m: Float32Array; v: Float32Array; g: Float32Array; live: Uint8Array };

export class FlatAdamW {
  private constructor(
    private readonly views: Map<string, { offset: number; n: number; shape: number[] }>,
    private readonly flat: Flat,
    private readonly kernel: AdamWKernel,
    /** Where the buffers are in the kernel's memory, or null when they are host buffers staged through it. */
    private readonly resident: KernelBuffers | null,
    private readonly variants: Variant[],
    private readonly runs: Run[],
    private readonly cfg: Pick<AdamWConfig, 'beta1' | 'beta2' | 'eps'>,
    /** With global-norm clipping: computes clip_grad_norm_'s factor from every gradient. */
    private readonly coef: Session | null,
    private readonly updated: FlatParam[],
    /** Whether idle blocks may be skipped: with eps = 0 the full update of an idle value is 0 / 0. */
    private readonly idleBlocks: boolean,
  ) {}

  /**
   * `values` holds every parameter (copied in); `moments` (resume) default to zero. Parameters are laid out by
   * variant, so each variant's values are one contiguous, block-aligned range.
   */
  static async create(
    params: FlatParam[], cfg: Pick<AdamWConfig, 'beta1' | 'beta2' | 'eps' | 'clipGradNorm'>,
    values: Map<string, Float32Array>, moments: Map<string, Float32Array> | undefined, opts: SessionOptions,
    /** The most bytes the buffers may take in the kernel's memory (tests lower it to exercise staging). */
    maxResident = MAX_KERNEL_BYTES,
  ): Promise<FlatAdamW> {
    const key = (p: FlatParam) => (p.updated ? `${p.decays}|${p.clamp ?? ''}` : 'fixed');
    const variants: Variant[] = [];
    const keys: string[] = [];
    for (const p of params) {
      if (!p.updated || keys.includes(key(p))) continue;
      keys.push(key(p));
      variants.push({ decays: p.decays, clamp: p.clamp });
    }
    const views = new Map<string, { offset: number; n: number; shape: number[] }>();
    const runs: Run[] = [];
    const align = (n: number) => Math.ceil(n / BLOCK) * BLOCK;
    let total = 0;
    for (const k of [...keys, 'fixed']) {
      const start = total;
      for (const p of params.filter((q) => key(q) === k)) {
        const n = p.shape.reduce((a, b) => a * b, 1);
        views.set(p.name, { offset: total, n, shape: [...p.shape] });
        total += n;
      }
      total = align(total);
      if (k !== 'fixed' && total > start) runs.push({ variant: keys.indexOf(k), start, end: total });
    }
    const blocks = total / BLOCK;
    const bytes = 16 * total + blocks;
    const fits = bytes <= maxResident;
    const kernel = AdamWKernel.create(fits ? bytes : STAGE_BLOCKS * (16 * BLOCK + 1));
    const resident = fits ? { p: 0, m: 4 * total, v: 8 * total, g: 12 * total, live: 16 * total } : null;
    const buf = kernel.memory.buffer;
    const flat: Flat = resident
      ? {
          p: new Float32Array(buf, resident.p, total), m: new Float32Array(buf, resident.m, total), v: new Float32Array(buf, resident.v, total),
          g: new Float32Array(buf, resident.g, total), live: new Uint8Array(buf, resident.live, blocks),
        }
      : { p: new Float32Array(total), m: new Float32Array(total), v: new Float32Array(total), g: new Float32Array(total), live: new Uint8Array(blocks) };
    for (const p of params) {
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
    const updated = params.filter((p) => p.updated);
    let coef: Session | null = null;
    if (cfg.clipGradNorm !== undefined && updated.length) {
      const g = new Graph('grad_clip_coef');
      g.output('coef', clipCoef(gradNorm(updated.map((p) => g.input(p.name, p.shape, 'float32'))), cfg.clipGradNorm));
      coef = await Session.create(g, opts);
    }
    const mw = new Uint32Array(flat.m.buffer, flat.m.byteOffset, total);
    const vw = new Uint32Array(flat.v.buffer, flat.v.byteOffset, total);
    if (moments) for (let i = 0; i < total; i++) if (mw[i] !== 0 || vw[i] !== 0) flat.live[(i / BLOCK) | 0] = 1;
    return new FlatAdamW(views, flat, kernel, resident, variants, runs, cfg, coef, updated, Math.fround(cfg.eps) > 0);
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
    const scalar = (k: string): number => {
      const t = scalars[k];
      if (!t) throw new RuntimeError(`AdamW step: missing scalar '${k}'`);
      return t.data[0] as number;
    };
    const [stepSize, decayFactor, bc2Sqrt] = [scalar(ADAMW_INPUTS.stepSize), scalar(ADAMW_INPUTS.decayFactor), scalar(ADAMW_INPUTS.bc2Sqrt)];
    let coef = 1;
    if (this.coef) {
      const gs = Object.fromEntries(this.updated.map((p) => [p.name, this.view(p.name, 'g')!]));
      coef = (await this.coef.run(gs, {}, ['coef'])).coef!.data[0] as number;
    }
    const { beta1, beta2, eps } = this.cfg;
    for (const r of this.runs) {
      const variant = this.variants[r.variant]!;
      const s: KernelScalars = {
        beta1, oneMinusBeta1: 1 - beta1, beta2, oneMinusBeta2: 1 - beta2, eps, stepSize, bc2Sqrt, coef,
        decay: variant.decays ? decayFactor : 1,
      };
      // A NaN clipping factor turns a zero gradient into NaN, and a clamp may move an idle value: no idle blocks then.
      const all = !this.idleBlocks || !Number.isFinite(coef) || variant.clamp !== undefined;
      this.update(r.start / BLOCK, r.end / BLOCK, all, s);
      if (variant.clamp) this.clamp(r, variant.clamp);
    }
  }

  private update(b0: number, b1: number, all: boolean, s: KernelScalars): void {
    if (this.resident) return this.kernel.update(this.resident, b0, b1, all, s);
    // Staged: each stretch of blocks is copied into the kernel's memory, updated there and copied back.
    const n = STAGE_BLOCKS * BLOCK;
    const at: KernelBuffers = { p: 0, m: 4 * n, v: 8 * n, g: 12 * n, live: 16 * n };
    const buf = this.kernel.memory.buffer;
    const stage = { p: new Float32Array(buf, at.p, n), m: new Float32Array(buf, at.m, n), v: new Float32Array(buf, at.v, n), g: new Float32Array(buf, at.g, n) };
    const live = new Uint8Array(buf, at.live, STAGE_BLOCKS);
    for (let a = b0; a < b1; a += STAGE_BLOCKS) {
      const e = Math.min(b1, a + STAGE_BLOCKS);
      const [x, y] = [a * BLOCK, e * BLOCK];
      for (const k of ['p', 'm', 'v', 'g'] as const) stage[k].set(this.flat[k].subarray(x, y));
      live.set(this.flat.live.subarray(a, e));
      this.kernel.update(at, 0, e - a, all, s);
      for (const k of ['p', 'm', 'v'] as const) this.flat[k].set(stage[k].subarray(0, y - x), x);
      this.flat.live.set(live.subarray(0, e - a), a);
    }
  }

  /** ONNX Clip's float32 clamp, min(max(x, lo), hi) as std::max / std::min compute it, after the update. */
  private clamp(r: Run, [lo, hi]: [number, number]): void {
    const p = this.flat.p;
    const [l, h] = [Math.fround(lo), Math.fround(hi)];
    for (let i = r.start; i < r.end; i++) {
      const x = p[i]! < l ? l : p[i]!;
      p[i] = h < x ? h : x;
    }
  }

  async release(): Promise<void> {
    if (this.coef) await this.coef.release();
  }
}
