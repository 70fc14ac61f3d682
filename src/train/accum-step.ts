// Gradient accumulation with OpenCLIP's --accum-freq semantics (src/training/train.py): the features of all K
// micro-batches are computed first without gradients; then each micro-batch is run again with gradients, its live
// features put in place of its cached ones, the contrastive loss taken over the whole K·B batch and the gradients
// summed; one AdamW step follows. The gradients so equal those of one K·B batch, except two things OpenCLIP does
// too: logit_scale is live in every micro-batch pass, so its gradient is summed K times, and batch norm (ResNets)
// normalizes each micro-batch with its own statistics and updates the running stats in both passes (2K times).
//
// Two sessions and the AdamW stage: features (forward only), grads (forward + backward, adds into the
// accumulators, which are FlatAdamW's gradient buffer) and FlatAdamW's update. State is held once on the host:
// every output that carries state over is written into the buffer of the input it replaces, which is safe because
// in these graphs that input is read only by the elementwise chain that computes its replacement (an accumulator
// by its add, a running stat by its momentum update).
import { Graph, grad, add, concat } from '../graph/index.js';
import { ParamStore } from '../nn/params.js';
import { nextName, type AdamWConfig } from '../nn/adamw.js';
import { clipForward } from '../models/clip.js';
import type { ClipArch } from '../models/arch.js';
import type { BatchNormUpdate } from '../nn/batch-norm.js';
import { Session, releaseFetched, type HostTensor, type SessionOptions } from '../runtime/index.js';
import { RuntimeError } from '../util/errors.js';
import { clipLoss } from './clip-loss.js';
import type { FlatAdamW } from './flat-adamw.js';
import { carriedState } from './train-step.js';

export const accumName = (param: string): string => `accum.${param}`;
const CACHED_IMAGE = 'cached.image_features';
const CACHED_TEXT = 'cached.text_features';

export interface AccumGraphOptions {
  /** Micro-batch size B (the loss is over K·B). */
  batchSize: number;
  accumSteps: number;
  adamw: Omit<AdamWConfig, 'decays'>;
  frozen?: (name: string) => boolean;
}

export interface AccumGraphs {
  features: Graph;
  grads: Graph;
  ps: ParamStore;
  trainable: string[];
  withGrad: string[];
  buffers: string[];
  adamw: Omit<AdamWConfig, 'decays'>;
}

function dataInputs(g: Graph, cfg: ClipArch, B: number) {
  const s = cfg.vision_cfg.image_size;
  return { images: g.input('images', [B, 3, s, s]), text: g.input('text', [B, cfg.text_cfg.context_length], 'int64') };
}

export function buildAccumGraphs(cfg: ClipArch, opts: AccumGraphOptions): AccumGraphs {
  const B = opts.batchSize;
  const K = opts.accumSteps;
  if (K < 2) throw new RuntimeError(`accumulation needs at least 2 micro-batches, got ${K}`);
  const D = cfg.embed_dim;

  // Features of one micro-batch, in training mode as OpenCLIP's no-grad pass (batch norm uses and updates batch stats).
  const features = new Graph('clip_accum_features');
  {
    const ps = new ParamStore(features);
    const { images, text } = dataInputs(features, cfg, B);
    const updates: BatchNormUpdate[] = [];
    const f = clipForward(ps, cfg, images, text, 'train', updates);
    features.output('image_features', f.imageFeatures);
    features.output('text_features', f.textFeatures);
    for (const u of updates) features.output(nextName(u.name), u.value);
  }

  // One micro-batch with gradients: its live features first, then the K-1 cached ones (the loss does not depend
  // on the order of the pairs), gradients added into the accumulators.
  const grads = new Graph('clip_accum_grads');
  const ps = new ParamStore(grads);
  const { images, text } = dataInputs(grads, cfg, B);
  const updates: BatchNormUpdate[] = [];
  const f = clipForward(ps, cfg, images, text, 'train', updates);
  const cachedImage = grads.input(CACHED_IMAGE, [(K - 1) * B, D]);
  const cachedText = grads.input(CACHED_TEXT, [(K - 1) * B, D]);
  const { loss } = clipLoss(
    { imageFeatures: concat([f.imageFeatures, cachedImage], 0), textFeatures: concat([f.textFeatures, cachedText], 0), logitScale: f.logitScale },
    K * B,
  );
  grads.output('loss', loss);
  grads.output('forward.logit_scale', f.logitScale);
  const params = ps.trainable().filter((p) => !opts.frozen?.(p.name));
  const gs = grads.within('backward', () => grad(loss, params.map((p) => p.tensor)));
  params.forEach((p, i) => {
    const gi = gs[i];
    if (gi) grads.output(nextName(accumName(p.name)), add(grads.input(accumName(p.name), p.tensor.shape, 'float32', 'state'), gi));
  });
  for (const u of updates) grads.output(nextName(u.name), u.value);

  // AdamW (FlatAdamW) runs on the summed gradients; clipping, if asked, sees the whole batch's gradient norm, as in OpenCLIP.
  return {
    features, grads, ps,
    trainable: params.map((p) => p.name),
    withGrad: params.filter((_, i) => gs[i]).map((p) => p.name),
    buffers: updates.map((u) => u.name),
    adamw: opts.adamw,
  };
}

export interface MicroBatch {
  images: Float32Array;
  text: BigInt64Array;
}

/** Runs accumulated steps; holds parameters, moments, running stats and accumulators once, updated in place. */
export class AccumStepRunner {
  private constructor(
    private readonly sessions: { features: Session; grads: Session },
    private readonly adamw: FlatAdamW,
    private readonly buffers: Map<string, HostTensor>,
    private readonly ag: AccumGraphs,
    private readonly cfg: ClipArch,
    private readonly K: number,
    private readonly B: number,
  ) {}

  /** `values`: every parameter and buffer (buffers taken as the runner's own, no copy); `moments` (resume) default to zero. */
  static async create(
    cfg: ClipArch, ag: AccumGraphs, K: number, B: number,
    values: Map<string, Float32Array>, moments: Map<string, Float32Array> | undefined, opts: SessionOptions = {},
  ): Promise<AccumStepRunner> {
    const { adamw, buffers } = await carriedState(ag, values, moments, opts);
    const sessions = { features: await Session.create(ag.features, opts), grads: await Session.create(ag.grads, opts) };
    return new AccumStepRunner(sessions, adamw, buffers, ag, cfg, K, B);
  }

  private tensor(name: string): HostTensor | undefined {
    if (name.startsWith(accumName(''))) return this.adamw.view(name.slice(accumName('').length), 'g');
    return this.adamw.view(name) ?? this.buffers.get(name);
  }

  /** Feeds and in-place outputs for the state a session reads and replaces. */
  private carried(s: Session): { feeds: Record<string, HostTensor>; into: Record<string, HostTensor> } {
    const feeds: Record<string, HostTensor> = {};
    const into: Record<string, HostTensor> = {};
    const outs = new Set(s.outputs.map((o) => o.name));
    for (const { name } of s.inputs) {
      const t = this.tensor(name);
      if (!t) continue;
      feeds[name] = t;
      if (outs.has(nextName(name))) into[nextName(name)] = t;
    }
    return { feeds, into };
  }

  /**
   * One optimizer step over `micro` (K micro-batches, read before this returns); `feeds` are the AdamW scalars and
   * any frozen parameters. Returns the loss over the whole batch and logit_scale before the update.
   */
  async step(micro: MicroBatch[], feeds: Record<string, HostTensor>): Promise<{ loss: number; logitScale: number }> {
    const { K, B, cfg } = this;
    if (micro.length !== K) throw new RuntimeError(`accumulated step: ${micro.length} micro-batches for ${K}`);
    const s = cfg.vision_cfg.image_size;
    const D = cfg.embed_dim;
    const data = (m: MicroBatch) => ({ images: { data: m.images, shape: [B, 3, s, s] }, text: { data: m.text, shape: [B, cfg.text_cfg.context_length] } });

    const fc = this.carried(this.sessions.features);
    const imageF: Float32Array[] = [];
    const textF: Float32Array[] = [];
    for (const m of micro) {
      const out = await this.sessions.features.run({ ...feeds, ...fc.feeds, ...data(m) }, fc.into, ['image_features', 'text_features', ...Object.keys(fc.into)]);
      imageF.push(out.image_features!.data as Float32Array);
      textF.push(out.text_features!.data as Float32Array);
      await releaseFetched();
    }

    for (const p of this.ag.withGrad) (this.adamw.view(p, 'g')!.data as Float32Array).fill(0);
    const gc = this.carried(this.sessions.grads);
    const others = (fs: Float32Array[], j: number) => {
      const o = new Float32Array((K - 1) * B * D);
      let at = 0;
      fs.forEach((f, i) => {
        if (i === j) return;
        o.set(f, at);
        at += f.length;
      });
      return { data: o, shape: [(K - 1) * B, D] };
    };
    let loss = NaN;
    let logitScale = NaN;
    for (let j = 0; j < K; j++) {
      const out = await this.sessions.grads.run(
        { ...feeds, ...gc.feeds, ...data(micro[j]!), [CACHED_IMAGE]: others(imageF, j), [CACHED_TEXT]: others(textF, j) },
        gc.into,
        ['loss', 'forward.logit_scale', ...Object.keys(gc.into)],
      );
      loss = (out.loss!.data as Float32Array)[0]!;
      logitScale = (out['forward.logit_scale']!.data as Float32Array)[0]!;
      await releaseFetched();
    }
    await this.adamw.step(feeds);
    return { loss, logitScale };
  }

  /** Current value of a parameter, moment or buffer (a view, updated in place by the next step). */
  get(name: string): Float32Array {
    const t = this.adamw.state(name) ?? (this.buffers.get(name)?.data as Float32Array | undefined);
    if (!t) throw new RuntimeError(`'${name}' is not carried state`);
    return t;
  }

  async release(): Promise<void> {
    for (const s of Object.values(this.sessions)) await s.release();
    await this.adamw.release();
  }
}
