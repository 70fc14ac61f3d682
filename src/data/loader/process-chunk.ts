// Decode + augment + normalize + tokenize one chunk of samples: the work a loader worker thread does
// (also run inline when the loader has no threads).
import { Rng } from '../../util/rng.js';
import { ImageDecodeError, transformToRgb, type TransformOptions } from '../images/transform.js';

export interface ChunkItem {
  image: Uint8Array;
  caption: string;
  /** Seed of this sample's augmentation (derived from seed, source, epoch, index: independent of threads). */
  augSeed: string;
}

export interface ChunkTask {
  items: ChunkItem[];
  transform: TransformOptions;
  contextLength: number;
}

export interface ChunkResult {
  n: number;
  /** [n, S, S, 3] RGB bytes after the crop and resize (normalized when the batch is assembled: a quarter of the
   * bytes to pass between threads); rows of failed items are zeros. */
  rgb: Uint8Array;
  /** [n, contextLength]. */
  text: BigInt64Array;
  /** 1 = ok, 0 = image failed to decode. */
  ok: Uint8Array;
  /** Error message per failed item (empty string when ok). */
  errors: string[];
}

type Tokenize = (texts: string[], contextLength?: number) => BigInt64Array;
let tokenizePromise: Promise<Tokenize> | null = null;

/** The CLIP tokenizer (`src/data/tokenizer`), loaded once per thread. */
export function loadTokenize(): Promise<Tokenize> {
  tokenizePromise ??= import('../tokenizer/index.js').then((m) => {
    const tok = m.getTokenizer();
    return (texts: string[], ctx?: number) => tok.tokenize(texts, ctx);
  });
  return tokenizePromise;
}

export async function processChunk(task: ChunkTask): Promise<ChunkResult> {
  const { items, transform, contextLength } = task;
  const n = items.length;
  const plane = 3 * transform.size * transform.size;
  const rgb = new Uint8Array(n * plane);
  const ok = new Uint8Array(n);
  const errors = new Array<string>(n).fill('');
  const tokenize = await loadTokenize();
  await Promise.all(
    items.map(async (it, i) => {
      try {
        const rng = transform.mode === 'train' ? new Rng(BigInt(it.augSeed)) : undefined;
        await transformToRgb(it.image, transform, rng, rgb, i * plane);
        ok[i] = 1;
      } catch (e) {
        if (!(e instanceof ImageDecodeError)) throw e;
        rgb.fill(0, i * plane, (i + 1) * plane);
        errors[i] = e.message;
      }
    }),
  );
  const text = tokenize(
    items.map((it) => it.caption),
    contextLength,
  );
  return { n, rgb, text, ok, errors };
}
