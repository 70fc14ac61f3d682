// Eval-time image decoding: read files, optional border crop (ObjectNet's 2 pixels), resize shortest side +
// center crop (bicubic), CLIP normalize. Runs on a pool of worker threads (inline with 0 threads) and streams
// batches in order with several in flight, so the encoder does not wait on decoding.
import { readFile } from 'node:fs/promises';
import { WorkerPool, workerEntry } from '../util/worker-pool.js';
import sharp from 'sharp';
import type { AlphaMode } from '../data/images/alpha.js';
import { ImageDecodeError, preprocessImage } from '../data/images/transform.js';

export interface DecodeTask {
  files: string[];
  /** Model input side S. */
  size: number;
  /** Pixels cut from every side before the eval transform (ObjectNet: 2); default 0. */
  borderCrop?: number;
  /** Transparency: 'drop' (default, as OpenCLIP), 'white' or 'black'. */
  alpha?: AlphaMode;
}

export interface DecodeResult {
  n: number;
  /** [n, 3, S, S]; rows of failed files are zeros. */
  images: Float32Array;
  /** 1 = decoded, 0 = unreadable. */
  ok: Uint8Array;
  /** Why each failed file failed ('' when ok). */
  errors: string[];
}

async function cropBorder(bytes: Uint8Array, b: number): Promise<Uint8Array> {
  const meta = await sharp(bytes, { failOn: 'error' }).metadata();
  const w = meta.width ?? 0;
  const h = meta.height ?? 0;
  if (w <= 2 * b || h <= 2 * b) return bytes;
  return sharp(bytes, { failOn: 'error' })
    .extract({ left: b, top: b, width: w - 2 * b, height: h - 2 * b })
    .png({ compressionLevel: 0 })
    .toBuffer();
}

export async function decodeFiles(task: DecodeTask): Promise<DecodeResult> {
  const n = task.files.length;
  const plane = 3 * task.size * task.size;
  const images = new Float32Array(n * plane);
  const ok = new Uint8Array(n);
  const errors = new Array<string>(n).fill('');
  const b = task.borderCrop ?? 0;
  await Promise.all(
    task.files.map(async (file, i) => {
      let bytes: Uint8Array;
      try {
        bytes = await readFile(file);
      } catch (e) {
        errors[i] = `cannot read file: ${(e as Error).message}`;
        return;
      }
      try {
        if (b > 0) bytes = await cropBorder(bytes, b);
        await preprocessImage(bytes, { size: task.size, mode: 'eval', alpha: task.alpha }, undefined, images, i * plane);
        ok[i] = 1;
      } catch (e) {
        images.fill(0, i * plane, (i + 1) * plane);
        errors[i] = e instanceof ImageDecodeError ? e.message : `cannot decode image: ${(e as Error).message}`;
      }
    }),
  );
  return { n, images, ok, errors };
}

/**
 * Worker threads that decode file lists; `threads = 0` decodes inline (sharp still uses libuv's pool). `alpha`
 * is how every image the pool decodes treats transparency.
 */
export class DecodePool extends WorkerPool<DecodeTask, DecodeResult> {
  constructor(
    threads: number,
    readonly alpha: AlphaMode = 'drop',
  ) {
    super(threads, () => workerEntry(import.meta.url, 'decode-worker'), decodeFiles, 'decode worker');
  }

  decode(task: DecodeTask): Promise<DecodeResult> {
    return this.run(task);
  }
}

export interface DecodedBatch extends DecodeResult {
  /** Index of the batch's first file in the list. */
  start: number;
}

/**
 * Decoded batches of `files` in order, `prefetch` batches in flight (default 3); each batch is split across
 * the pool's threads.
 */
export async function* decodeBatches(
  pool: DecodePool,
  files: readonly string[],
  opts: { size: number; batchSize: number; borderCrop?: number; prefetch?: number },
): AsyncGenerator<DecodedBatch> {
  const B = opts.batchSize;
  const plane = 3 * opts.size * opts.size;
  const parts = Math.max(1, pool.threads);
  const launch = (start: number): Promise<DecodedBatch> => {
    const chunk = files.slice(start, start + B);
    const per = Math.ceil(chunk.length / parts);
    const tasks: Promise<DecodeResult>[] = [];
    for (let s = 0; s < chunk.length; s += per) tasks.push(pool.decode({ files: chunk.slice(s, s + per), size: opts.size, borderCrop: opts.borderCrop, alpha: pool.alpha }));
    return Promise.all(tasks).then((rs) => {
      if (rs.length === 1) return { ...rs[0]!, start };
      const images = new Float32Array(chunk.length * plane);
      const ok = new Uint8Array(chunk.length);
      const errors: string[] = [];
      let at = 0;
      for (const r of rs) {
        images.set(r.images, at * plane);
        ok.set(r.ok, at);
        errors.push(...r.errors);
        at += r.n;
      }
      return { n: chunk.length, images, ok, errors, start };
    });
  };
  const queue: Promise<DecodedBatch>[] = [];
  let next = 0;
  const depth = Math.max(1, opts.prefetch ?? 3);
  while (queue.length < depth && next < files.length) {
    queue.push(launch(next));
    next += B;
  }
  try {
    while (queue.length) {
      const batch = await queue.shift()!;
      if (next < files.length) {
        queue.push(launch(next));
        next += B;
      }
      yield batch;
    }
  } finally {
    // A consumer that stops early leaves decodes running; let them settle without unhandled rejections.
    for (const p of queue) p.catch(() => {});
  }
}
