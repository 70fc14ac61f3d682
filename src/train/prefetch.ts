// Batches from the data loader running on its own thread (src/train/prefetch-worker.ts), a few batches ahead:
// ORT's run blocks the main thread, so a loader on the main thread could not assemble the next batch meanwhile.
// Batches are written into a fixed ring of shared buffers and copied out into two buffers of this thread
// (onnxruntime-node does not take shared memory), so no step allocates batch memory or moves it between
// threads: per-batch allocations and transfers made V8 collect garbage every step.
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { workerEntry } from '../util/worker-pool.js';
import { CliplabError } from '../util/errors.js';
import type { Batch, BatchBuffers, LoaderOptions } from '../data/loader/index.js';

/** The loader thread's nice value (see prefetch-worker.ts). */
export const LOADER_NICE = 19;

/** A batch as the loader thread announces it: which slot of the ring holds its arrays. */
export type SlotBatch = Omit<Batch, 'images' | 'text'> & { slot: number };

type Message =
  | { type: 'open'; tid: number | null }
  | { type: 'batch'; batch: SlotBatch }
  | { type: 'end' }
  | { type: 'closed' }
  | { type: 'error'; name: string; message: string };

export class PrefetchedBatches {
  private readonly ready: (SlotBatch | null)[] = [];
  /** Where batches are copied for the step: two, as the loop takes batch k + 1 while step k still reads batch k. */
  private readonly own: BatchBuffers[];
  private taken = 0;
  private waiter: { resolve: (b: SlotBatch | null) => void; reject: (e: Error) => void } | null = null;
  private failure: Error | null = null;
  private closed: Promise<void> | null = null;
  /** Kernel thread id of the loader thread (Linux; null elsewhere). */
  tid: number | null = null;

  private constructor(
    private readonly worker: Worker,
    private readonly slots: BatchBuffers[],
    private readonly batchSize: number,
  ) {
    this.own = [0, 1].map(() => ({ images: new Float32Array(slots[0]!.images.length), text: new BigInt64Array(slots[0]!.text.length) }));
  }

  /**
   * Opens the loader on its thread, `depth` batches ahead; rejects (with the loader's message) when it cannot
   * open. `step` is how ORT runs the step: with several threads that sleep between ops, the loader thread runs
   * at LOADER_NICE and fills the moments they leave idle; spinning threads never leave a core idle and a single
   * thread leaves no gaps, so there it keeps normal priority (at nice 19 it would starve).
   */
  static async open(opts: LoaderOptions, depth = 2, step: { spinning?: boolean; threads?: number | null } = {}): Promise<PrefetchedBatches> {
    const lowPriority = !step.spinning && (step.threads ?? availableParallelism()) > 1;
    const S = opts.imageSize;
    const ctx = opts.contextLength ?? 77;
    const slots = Array.from({ length: depth }, () => ({
      images: new Float32Array(new SharedArrayBuffer(opts.batchSize * 3 * S * S * 4)),
      text: new BigInt64Array(new SharedArrayBuffer(opts.batchSize * ctx * 8)),
    }));
    const worker = new Worker(workerEntry(import.meta.url, 'prefetch-worker'));
    const p = new PrefetchedBatches(worker, slots, opts.batchSize);
    await new Promise<void>((resolve, reject) => {
      worker.on('message', (m: Message) => {
        if (m.type === 'open') {
          p.tid = m.tid;
          resolve();
        } else if (m.type === 'error') {
          const e = m.name === 'Error' ? new Error(m.message) : new CliplabError(m.message);
          reject(e);
          p.fail(e);
        } else p.deliver(m);
      });
      worker.on('error', (e) => {
        reject(e);
        p.fail(e);
      });
      worker.postMessage({ type: 'open', opts, slots, nice: lowPriority ? LOADER_NICE : null });
    }).catch(async (e: unknown) => {
      await worker.terminate();
      throw e;
    });
    return p;
  }

  private deliver(m: Message): void {
    if (m.type !== 'batch' && m.type !== 'end') return;
    const b = m.type === 'batch' ? m.batch : null;
    if (this.waiter) {
      const w = this.waiter;
      this.waiter = null;
      w.resolve(b);
    } else this.ready.push(b);
  }

  /** Copies a slot's batch into this thread's next buffer and gives the slot back to the loader thread. */
  private take(sb: SlotBatch | null): Batch | null {
    if (!sb) return null;
    const { slot, ...rest } = sb;
    const src = this.slots[slot]!;
    const dst = this.own[this.taken++ % 2]!;
    const plane = src.images.length / this.batchSize;
    const ctx = src.text.length / this.batchSize;
    dst.images.set(src.images.subarray(0, rest.n * plane));
    dst.text.set(src.text.subarray(0, rest.n * ctx));
    if (!this.closed) this.worker.postMessage({ type: 'free', slot });
    const full = rest.n === this.batchSize;
    return { ...rest, images: full ? dst.images : dst.images.subarray(0, rest.n * plane), text: full ? dst.text : dst.text.subarray(0, rest.n * ctx) };
  }

  private fail(e: Error): void {
    this.failure = e;
    const w = this.waiter;
    this.waiter = null;
    w?.reject(e);
  }

  /** The next batch (null after the last one). Its arrays are reused two batches later: read them before then. */
  next(): Promise<Batch | null> {
    if (this.ready.length) return Promise.resolve(this.take(this.ready.shift()!));
    if (this.failure) return Promise.reject(this.failure);
    return new Promise<SlotBatch | null>((resolve, reject) => (this.waiter = { resolve, reject })).then((b) => this.take(b));
  }

  async close(): Promise<void> {
    this.closed ??= new Promise<void>((resolve) => {
      const t = setTimeout(() => void this.worker.terminate().then(() => resolve()), 10_000);
      this.worker.on('exit', () => {
        clearTimeout(t);
        resolve();
      });
      this.worker.postMessage({ type: 'close' });
    });
    await this.closed;
  }
}
