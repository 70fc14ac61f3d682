// Batches from the data loader running on its own thread (src/train/prefetch-worker.ts), `depth` batches ahead:
// ORT's run blocks the main thread, so a loader on the main thread could not assemble the next batch meanwhile.
import { Worker } from 'node:worker_threads';
import { workerEntry } from '../util/worker-pool.js';
import { CliplabError } from '../util/errors.js';
import type { Batch, LoaderOptions } from '../data/loader/index.js';

type Message =
  | { type: 'open' }
  | { type: 'batch'; batch: Batch }
  | { type: 'end' }
  | { type: 'closed' }
  | { type: 'error'; name: string; message: string };

export class PrefetchedBatches {
  private readonly ready: (Batch | null)[] = [];
  private waiter: { resolve: (b: Batch | null) => void; reject: (e: Error) => void } | null = null;
  private failure: Error | null = null;
  private closed: Promise<void> | null = null;

  private constructor(private readonly worker: Worker) {}

  /** Opens the loader on its thread; rejects (with the loader's message) when it cannot open. */
  static async open(opts: LoaderOptions, depth = 2): Promise<PrefetchedBatches> {
    const worker = new Worker(workerEntry(import.meta.url, 'prefetch-worker'));
    const p = new PrefetchedBatches(worker);
    await new Promise<void>((resolve, reject) => {
      worker.on('message', (m: Message) => {
        if (m.type === 'open') resolve();
        else if (m.type === 'error') {
          const e = m.name === 'Error' ? new Error(m.message) : new CliplabError(m.message);
          reject(e);
          p.fail(e);
        } else p.deliver(m);
      });
      worker.on('error', (e) => {
        reject(e);
        p.fail(e);
      });
      worker.postMessage({ type: 'open', opts, credits: depth });
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

  private fail(e: Error): void {
    this.failure = e;
    const w = this.waiter;
    this.waiter = null;
    w?.reject(e);
  }

  /** The next batch (null after the last one); grants the thread one more batch ahead. */
  next(): Promise<Batch | null> {
    if (this.ready.length) {
      this.worker.postMessage({ type: 'credit' });
      return Promise.resolve(this.ready.shift()!);
    }
    if (this.failure) return Promise.reject(this.failure);
    return new Promise((resolve, reject) => {
      this.waiter = {
        resolve: (b) => {
          this.worker.postMessage({ type: 'credit' });
          resolve(b);
        },
        reject,
      };
    });
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
