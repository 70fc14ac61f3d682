// Inference graphs of the two towers with the weights baked in as initializers (batch-norm in eval mode):
// what evaluation, CLIP-score filtering and `cliplab export onnx` run.
import { Graph } from '../graph/index.js';
import { ParamStore } from '../nn/params.js';
import { Session, type SessionOptions } from '../runtime/index.js';
import { RuntimeError } from '../util/errors.js';
import type { ClipArch } from './arch.js';
import { encodeImage, encodeText } from './clip.js';

export const IMAGE_INPUT = 'images';
export const IMAGE_OUTPUT = 'image_embeds';
export const TEXT_INPUT = 'text';
export const TEXT_OUTPUT = 'text_embeds';

function checkAllUsed(ps: ParamStore, weights: Map<string, Float32Array>, what: string): void {
  const missing = ps.specs.filter((s) => !weights.has(s.name)).map((s) => s.name);
  if (missing.length) throw new RuntimeError(`${what}: no weights for ${missing.slice(0, 5).join(', ')}${missing.length > 5 ? ` … (${missing.length})` : ''}`);
}

/** images [N, 3, S, S] (normalized) -> image_embeds [N, E] (not normalized). */
export function imageEncoderGraph(cfg: ClipArch, weights: Map<string, Float32Array>): Graph {
  const g = new Graph('clip_image_encoder');
  const ps = new ParamStore(g, weights);
  const s = cfg.vision_cfg.image_size;
  g.output(IMAGE_OUTPUT, encodeImage(ps, cfg, g.input(IMAGE_INPUT, ['N', 3, s, s]), 'eval'));
  checkAllUsed(ps, weights, 'image encoder');
  return g;
}

/** text [N, context_length] int64 -> text_embeds [N, E] (not normalized). */
export function textEncoderGraph(cfg: ClipArch, weights: Map<string, Float32Array>): Graph {
  const g = new Graph('clip_text_encoder');
  const ps = new ParamStore(g, weights);
  g.output(TEXT_OUTPUT, encodeText(ps, cfg, g.input(TEXT_INPUT, ['N', cfg.text_cfg.context_length], 'int64')));
  checkAllUsed(ps, weights, 'text encoder');
  return g;
}

/** Both towers as ORT sessions; encode in batches of any size. */
export class ClipEncoders {
  private constructor(
    readonly cfg: ClipArch,
    private readonly image: Session,
    private readonly text: Session,
    readonly logitScale: number,
  ) {}

  static async create(cfg: ClipArch, weights: Map<string, Float32Array>, opts: SessionOptions = {}): Promise<ClipEncoders> {
    const image = await Session.create(imageEncoderGraph(cfg, weights), opts);
    const text = await Session.create(textEncoderGraph(cfg, weights), opts);
    const ls = weights.get('logit_scale');
    return new ClipEncoders(cfg, image, text, ls ? Math.exp(ls[0]!) : 1 / 0.07);
  }

  get embedDim(): number {
    return this.cfg.embed_dim;
  }

  async encodeImages(images: Float32Array, n: number): Promise<Float32Array> {
    const s = this.cfg.vision_cfg.image_size;
    const r = await this.image.run({ [IMAGE_INPUT]: { data: images.length === n * 3 * s * s ? images : images.subarray(0, n * 3 * s * s), shape: [n, 3, s, s] } });
    return r[IMAGE_OUTPUT]!.data as Float32Array;
  }

  async encodeTexts(text: BigInt64Array, n: number): Promise<Float32Array> {
    const c = this.cfg.text_cfg.context_length;
    const r = await this.text.run({ [TEXT_INPUT]: { data: text.length === n * c ? text : text.subarray(0, n * c), shape: [n, c] } });
    return r[TEXT_OUTPUT]!.data as Float32Array;
  }

  async release(): Promise<void> {
    await this.image.release();
    await this.text.release();
  }
}

/** Rows scaled to unit L2 norm, in place. */
export function normalizeRows(x: Float32Array, dim: number): Float32Array {
  for (let i = 0; i < x.length; i += dim) {
    let s = 0;
    for (let j = 0; j < dim; j++) s += x[i + j]! * x[i + j]!;
    const inv = 1 / Math.max(Math.sqrt(s), 1e-12);
    for (let j = 0; j < dim; j++) x[i + j] = x[i + j]! * inv;
  }
  return x;
}
