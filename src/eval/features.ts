// Frozen features for the non-zero-shot tasks: unit image embeddings of a file list (decoded on the worker
// pool, unreadable files skipped and reported) and unit text embeddings of a caption list. Every eval task's
// encoder output passes `checkFeatures`, the one finiteness check on features.
import { getTokenizer } from '../data/tokenizer/index.js';
import { normalizeRows } from '../models/encoders.js';
import { InputError } from '../util/errors.js';
import { findNonFinite, formatNonFinite } from '../util/finite.js';
import { decodeBatches, type DecodePool } from './decode.js';
import type { EvalModel } from './model.js';
import type { SkippedImage } from './score.js';

/**
 * Throws, naming `where` (the dataset) and the model, when an encoder returned a NaN or infinite feature:
 * downstream, NaN compares false, so it would score as perfect recall or accuracy instead of failing.
 * `items` are the rows' files or texts. Checked before normalizing, so the message shows the model's value.
 */
export function checkFeatures(where: string, model: { id?: string }, kind: 'image' | 'text', emb: Float32Array, dim: number, items: readonly string[]): void {
  const bad = findNonFinite(emb);
  if (!bad) return;
  const item = items[Math.floor(bad.index / dim)]!;
  const first = kind === 'text' ? JSON.stringify(item) : item;
  const who = model.id !== undefined ? `model ${model.id}: ` : '';
  throw new InputError(where, `${who}${kind} features are not finite (${formatNonFinite(bad)}; first ${kind} ${first}): the model is broken`);
}

export interface ImageFeatures {
  /** [ok.length rows kept, dim]: rows of the files that decoded, in file order. */
  features: Float32Array;
  /** Index into the file list of each kept row. */
  kept: number[];
  skipped: SkippedImage[];
}

/** `where` names the dataset in errors. */
export async function imageFeatures(where: string, model: EvalModel, files: readonly string[], pool: DecodePool, batchSize: number, onImages?: (n: number) => void): Promise<ImageFeatures> {
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
      const emb = await model.encodeImages(packed, ok.length);
      checkFeatures(where, model, 'image', emb, D, ok.map((i) => files[b.start + i]!));
      rows.push(normalizeRows(emb, D));
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

export async function textFeatures(where: string, model: EvalModel, texts: readonly string[], batchSize = 256): Promise<Float32Array> {
  const D = model.embedDim;
  const tok = getTokenizer();
  const out = new Float32Array(texts.length * D);
  for (let s = 0; s < texts.length; s += batchSize) {
    const chunk = texts.slice(s, s + batchSize);
    const emb = await model.encodeTexts(tok.tokenize(chunk, model.contextLength), chunk.length);
    checkFeatures(where, model, 'text', emb, D, chunk);
    out.set(normalizeRows(emb, D), s * D);
  }
  return out;
}
