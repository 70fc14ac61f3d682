// The CLIP-score hook for dataset filtering: an interface the model engine implements, a factory registry
// the CLI wires, and batched scoring of samples (eval transform + tokenize, then the scorer).
import { InputError } from '../../util/errors.js';
import { ImageDecodeError, preprocessImage } from '../images/transform.js';
import { getTokenizer } from '../tokenizer/index.js';

/** Scores image-text pairs: cosine similarity of the normalized CLIP embeddings, one per pair. */
export interface ClipScorer {
  /** `images`: [n, 3, imageSize, imageSize] CLIP-normalized; `text`: [n, contextLength] token ids. */
  score(batch: { images: Float32Array; text: BigInt64Array; n: number }): Promise<Float32Array>;
  imageSize: number;
  contextLength: number;
  /** Releases sessions; optional. */
  close?(): Promise<void>;
}

/** Loads a scorer from any checkpoint cliplab can load (a run dir or a checkpoint file). */
export type ClipScorerFactory = (checkpointPath: string) => Promise<ClipScorer>;

let registered: ClipScorerFactory | null = null;

/** Wires the model engine's scorer (the CLI does this once the engine exists). */
export function setClipScorerFactory(factory: ClipScorerFactory | null): void {
  registered = factory;
}

export function getClipScorerFactory(): ClipScorerFactory | null {
  return registered;
}

export interface ScoreItem {
  image: Uint8Array;
  caption: string;
}

/**
 * Scores items in batches of `batchSize`; an item whose image does not decode gets NaN (callers count and drop it).
 */
export async function scoreItems(scorer: ClipScorer, items: ScoreItem[], batchSize = 64): Promise<Float32Array> {
  const out = new Float32Array(items.length);
  const S = scorer.imageSize;
  const plane = 3 * S * S;
  const tokenizer = getTokenizer();
  for (let start = 0; start < items.length; start += batchSize) {
    const chunk = items.slice(start, start + batchSize);
    const ok: number[] = [];
    const images = new Float32Array(chunk.length * plane);
    await Promise.all(
      chunk.map(async (it, i) => {
        try {
          await preprocessImage(it.image, { size: S, mode: 'eval' }, undefined, images, i * plane);
          ok.push(i);
        } catch (e) {
          if (!(e instanceof ImageDecodeError)) throw e;
          out[start + i] = NaN;
        }
      }),
    );
    ok.sort((a, b) => a - b);
    if (ok.length === 0) continue;
    const packed = ok.length === chunk.length ? images : new Float32Array(ok.length * plane);
    if (packed !== images) ok.forEach((i, k) => packed.set(images.subarray(i * plane, (i + 1) * plane), k * plane));
    const text = tokenizer.tokenize(
      ok.map((i) => chunk[i]!.caption),
      scorer.contextLength,
    );
    const scores = await scorer.score({ images: packed, text, n: ok.length });
    if (scores.length !== ok.length) throw new InputError('CLIP scorer', `returned ${scores.length} scores for ${ok.length} pairs`);
    ok.forEach((i, k) => (out[start + i] = scores[k]!));
  }
  return out;
}
