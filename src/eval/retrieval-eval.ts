// `evaluateRetrieval`: zero-shot image–text retrieval of a captions file (COCO or Karpathy format) — unit image
// and caption embeddings, recall@k both ways (CLIP_benchmark's metric names), one result record.
import { basename } from 'node:path';
import { InputError } from '../util/errors.js';
import { readCaptionSet, testbedCaptionSet } from './captions.js';
import { imageFeatures, textFeatures } from './features.js';
import { retrievalRecall } from './retrieval.js';
import { taskResult, withTaskModel, writeTaskResult, type TaskModelOptions } from './task-eval.js';

export interface RetrievalEvalOptions extends TaskModelOptions {
  /** Directory the captions file's image paths are relative to. */
  images?: string;
  captions?: string;
  /** Instead: a built testbed, whose reference set with captions from its concepts is the retrieval set. */
  testbed?: string;
  /** Karpathy format: the split to evaluate (default "test"). */
  split?: string;
  /** Result `dataset`; default the captions file's name without `.json` (e.g. captions_val2017). */
  dataset?: string;
  /** Default [1, 5, 10]. */
  recallK?: number[];
}

export async function evaluateRetrieval(o: RetrievalEvalOptions): Promise<{ result: Record<string, unknown>; files: string[]; warnings: string[] }> {
  if ((o.testbed === undefined) === (o.captions === undefined || o.images === undefined))
    throw new InputError('--captions', 'give --images DIR with --captions FILE, or --suite testbed with --data-root TB');
  const set = o.testbed !== undefined ? testbedCaptionSet(o.testbed) : readCaptionSet(o.captions!, o.images!, o.split);
  const ks = o.recallK ?? [1, 5, 10];
  if (ks.some((k) => !Number.isInteger(k) || k < 1)) throw new InputError('--recall-k', 'expected positive integers');
  const dataset = o.dataset ?? set.name ?? basename(o.captions!).replace(/\.json$/i, '');
  return withTaskModel(o, async ({ model, id, pool, warn, warnings }) => {
    const img = await imageFeatures(dataset, model, set.images.map((i) => i.file), pool, o.batchSize ?? 128, o.onImages);
    if (img.kept.length === 0) throw new InputError(o.images ?? o.testbed ?? 'retrieval', `no readable images: all ${set.images.length} failed to decode (first: ${img.skipped[0]?.file}: ${img.skipped[0]?.reason})`);
    if (img.skipped.length) warn(`${img.skipped.length} of ${set.images.length} images unreadable, skipped with their captions; first: ${img.skipped[0]!.file}: ${img.skipped[0]!.reason}`);
    const texts: string[] = [];
    const textImage: number[] = [];
    img.kept.forEach((fileIndex, row) => {
      for (const c of set.images[fileIndex]!.captions) {
        texts.push(c);
        textImage.push(row);
      }
    });
    const uncaptioned = img.kept.filter((i) => set.images[i]!.captions.length === 0).length;
    if (uncaptioned) warn(`${uncaptioned} images have no caption; they count as misses in text retrieval`);
    const metrics = retrievalRecall({ images: img.features, texts: await textFeatures(dataset, model, texts), dim: model.embedDim, textImage }, ks);
    const result = taskResult(id, dataset, 'zeroshot_retrieval', metrics, {
      n_images: img.kept.length,
      n_texts: texts.length,
      n_skipped: img.skipped.length,
      captions_format: set.format,
      ...(set.format === 'karpathy' ? { split: o.split ?? 'test' } : {}),
      skipped: img.skipped.slice(0, 100),
    }, o.testbed !== undefined ? { testbed: o.testbed } : { images_dir: o.images, captions_file: o.captions });
    return { result, files: await writeTaskResult(o.out, result), warnings };
  });
}
