// Frozen features for the non-zero-shot tasks: unit image embeddings of a file list (decoded on the worker
// pool, unreadable files skipped and reported) and unit text embeddings of a caption list.
import { getTokenizer } from '../data/tokenizer/index.js';
import { normalizeRows } from '../models/encoders.js';
import { decodeBatches, type DecodePool } from './decode.js';
import type { EvalModel } from './model.js';
import type { SkippedImage } from './score.js';

export interface ImageFeatures {
  /** [ok.length rows kept, dim]: rows of the files that decoded, in file order. */
  features: Float32Array;
  /** Index into the file list of each kept row. */
  kept: number[];
  skipped: SkippedImage[];
}

export async function imageFeatures(model: EvalModel, files: readonly string[], pool: DecodePool, batchSize: number, onImages?: (n: number) => void): Promise<ImageFeatures> {
  const D = model.embedDim;
  const plane = 3 * model.imageSize * model.imageSize;
  const rows: Float32Array[] = [];
  const kept: number[] = [];
  const skipped: SkippedImage[] = [];
  for await (const b of decodeBatches(pool, files, { size: model.imageSize, batchSize })) {
    const ok: number[] = [];
    for (let i = 0; i < b.n; i++) {
      if (b.ok[i]) ok.push(i);
      else skipped.push({ file: files[b.start + i]!, reason: b.errors[i]! });
    }
    if (ok.length) {
      let packed = b.images;
      if (ok.length < b.n) {
        packed = new Float32Array(ok.length * plane);
        ok.forEach((i, r) => packed.set(b.images.subarray(i * plane, (i + 1) * plane), r * plane));
      }
      rows.push(normalizeRows(await model.encodeImages(packed, ok.length), D));
      for (const i of ok) kept.push(b.start + i);
    }
    onImages?.(b.n);
  }
  const features = new Float32Array(kept.length * D);
  let at = 0;
  for (const r of rows) {
    features.set(r, at);
    at += r.length;
  }
  return { features, kept, skipped };
}

export async function textFeatures(model: EvalModel, texts: readonly string[], batchSize = 256): Promise<Float32Array> {
  const D = model.embedDim;
  const tok = getTokenizer();
  const out = new Float32Array(texts.length * D);
  for (let s = 0; s < texts.length; s += batchSize) {
    const chunk = texts.slice(s, s + batchSize);
    out.set(normalizeRows(await model.encodeTexts(tok.tokenize(chunk, model.contextLength), chunk.length), D), s * D);
  }
  return out;
}
