// Image–text retrieval recall@k as CLIP_benchmark computes it from unit embeddings (scores = text · image):
// `image_retrieval_recall@k` — per text, is its image among the k best images; `text_retrieval_recall@k` — per
// image, is any of its texts among the k best texts. Ties go to the lower index (torch.topk leaves them open).

export interface RetrievalInput {
  /** [nImages, dim], rows L2-normalized. */
  images: Float32Array;
  /** [nTexts, dim], rows L2-normalized. */
  texts: Float32Array;
  dim: number;
  /** For each text, the index of its image. */
  textImage: ArrayLike<number>;
}

export type RetrievalMetrics = Record<string, number>;

function dot(a: Float32Array, ao: number, b: Float32Array, bo: number, d: number): number {
  let s = 0;
  for (let j = 0; j < d; j++) s += a[ao + j]! * b[bo + j]!;
  return s;
}

/**
 * Recall@k for each k in `ks`. Two passes over the score matrix (never held whole): the first ranks each
 * text's image and finds each image's best own text; the second ranks that text among all texts for the image.
 */
export function retrievalRecall(inp: RetrievalInput, ks: readonly number[] = [1, 5, 10]): RetrievalMetrics {
  const { images, texts, dim: d, textImage } = inp;
  const nI = images.length / d;
  const nT = texts.length / d;
  if (!Number.isInteger(nI) || !Number.isInteger(nT) || nI < 1 || nT < 1) throw new RangeError('retrievalRecall: empty or ragged embeddings');
  if (textImage.length !== nT) throw new RangeError(`retrievalRecall: ${textImage.length} text→image indices for ${nT} texts`);
  const textRank = new Int32Array(nT);
  const best = new Float64Array(nI).fill(-Infinity);
  const bestText = new Int32Array(nI).fill(-1);
  const row = new Float64Array(nI);
  for (let t = 0; t < nT; t++) {
    const own = textImage[t]!;
    if (!(Number.isInteger(own) && own >= 0 && own < nI)) throw new RangeError(`retrievalRecall: text ${t} points at image ${own}`);
    for (let i = 0; i < nI; i++) row[i] = dot(texts, t * d, images, i * d, d);
    const v = row[own]!;
    let rank = 0;
    for (let i = 0; i < nI; i++) if (row[i]! > v || (row[i] === v && i < own)) rank++;
    textRank[t] = rank;
    if (v > best[own]!) {
      best[own] = v;
      bestText[own] = t;
    }
  }
  const imageRank = new Int32Array(nI).fill(-1);
  for (let i = 0; i < nI; i++) if (bestText[i]! >= 0) imageRank[i] = 0;
  for (let t = 0; t < nT; t++)
    for (let i = 0; i < nI; i++) {
      if (bestText[i]! < 0) continue;
      const s = dot(texts, t * d, images, i * d, d);
      if (s > best[i]! || (s === best[i] && t < bestText[i]!)) imageRank[i]!++;
    }
  const out: RetrievalMetrics = {};
  for (const k of ks) {
    let hitT = 0;
    for (const r of textRank) if (r < k) hitT++;
    let hitI = 0;
    // An image without captions has no positive: never a hit (CLIP_benchmark: 0/0 recall is not > 0).
    for (const r of imageRank) if (r >= 0 && r < k) hitI++;
    out[`image_retrieval_recall@${k}`] = hitT / nT;
    out[`text_retrieval_recall@${k}`] = hitI / nI;
  }
  return out;
}
