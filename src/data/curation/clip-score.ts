// The CLIP-score hook for dataset filtering: an interface the model engine implements, a factory registry
// the CLI wires, and batched scoring of samples (eval transform + tokenize, then the scorer) and batched image
// embedding (for near-duplicate removal by CLIP similarity).
import { InputError } from '../../util/errors.js';
import { ImageDecodeError, preprocessImage } from '../images/transform.js';
import { getTokenizer } from '../tokenizer/index.js';

/** Scores image-text pairs: cosine similarity of the normalized CLIP embeddings, one per pair. */
export interface ClipScorer {
  /** `images`: [n, 3, imageSize, imageSize] CLIP-normalized; `text`: [n, contextLength] token ids. */
  score(batch: { images: Float32Array; text: BigInt64Array; n: number }): Promise<Float32Array>;
  /**
   * L2-normalized image embeddings, [n, embedDim] row-major, for the same `images` layout as `score`.
   * Optional: a scorer without it cannot serve `filters.dedup.clip`.
   */
  embedImages?(images: Float32Array, n: number): Promise<Float32Array>;
  embedDim?: number;
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
 * The eval transform of `images` into one [k, 3, S, S] batch; `ok` lists the indices that decoded (in order),
 * the others are left out of `packed`.
 */
async function preprocessBatch(images: Uint8Array[], S: number): Promise<{ ok: number[]; packed: Float32Array }> {
  const plane = 3 * S * S;
  const ok: number[] = [];
  const all = new Float32Array(images.length * plane);
  await Promise.all(
    images.map(async (image, i) => {
      try {
        await preprocessImage(image, { size: S, mode: 'eval' }, undefined, all, i * plane);
        ok.push(i);
      } catch (e) {
        if (!(e instanceof ImageDecodeError)) throw e;
      }
    }),
  );
  ok.sort((a, b) => a - b);
  if (ok.length === images.length) return { ok, packed: all };
  const packed = new Float32Array(ok.length * plane);
  ok.forEach((i, k) => packed.set(all.subarray(i * plane, (i + 1) * plane), k * plane));
  return { ok, packed };
}

/**
 * Scores items in batches of `batchSize`; an item whose image does not decode gets NaN (callers count and drop it).
 */
export async function scoreItems(scorer: ClipScorer, items: ScoreItem[], batchSize = 64): Promise<Float32Array> {
  const out = new Float32Array(items.length).fill(NaN);
  const tokenizer = getTokenizer();
  for (let start = 0; start < items.length; start += batchSize) {
    const chunk = items.slice(start, start + batchSize);
    const { ok, packed } = await preprocessBatch(
      chunk.map((it) => it.image),
      scorer.imageSize,
    );
    if (ok.length === 0) continue;
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

/**
 * Normalized image embeddings of `images`, [n, embedDim], in batches of `batchSize`; the row of an image that
 * does not decode is NaN. `where` names the spec key in the error for a scorer that cannot embed.
 */
export async function embedImages(scorer: ClipScorer, images: Uint8Array[], batchSize: number, where: string): Promise<{ dim: number; rows: Float32Array }> {
  if (!scorer.embedImages || !scorer.embedDim) throw new InputError(where, 'this CLIP model cannot embed images (its scorer has no image embeddings)');
  const dim = scorer.embedDim;
  const rows = new Float32Array(images.length * dim).fill(NaN);
  for (let start = 0; start < images.length; start += batchSize) {
    const { ok, packed } = await preprocessBatch(images.slice(start, start + batchSize), scorer.imageSize);
    if (ok.length === 0) continue;
    const emb = await scorer.embedImages(packed, ok.length);
    if (emb.length !== ok.length * dim) throw new InputError('CLIP scorer', `returned ${emb.length} embedding values for ${ok.length} images of dimension ${dim}`);
    ok.forEach((i, k) => rows.set(emb.subarray(k * dim, (k + 1) * dim), (start + i) * dim));
  }
  return { dim, rows };
}
