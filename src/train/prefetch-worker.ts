// Batch prefetch thread: runs the data loader off the main thread (which ORT's synchronous run blocks), and
// posts finished batches ahead of the training step, as many as the main thread has granted credits for.
import { parentPort } from 'node:worker_threads';
import { openLoader, type DataLoader, type LoaderOptions } from '../data/loader/index.js';

type Request = { type: 'open'; opts: LoaderOptions; credits: number } | { type: 'credit' } | { type: 'close' };

let loader: DataLoader | null = null;
let credits = 0;
let producing = false;
let closing = false;

function fail(e: unknown): void {
  parentPort!.postMessage({ type: 'error', name: e instanceof Error ? e.name : 'Error', message: e instanceof Error ? e.message : String(e) });
}

async function produce(): Promise<void> {
  if (producing || !loader) return;
  producing = true;
  try {
    while (credits > 0 && !closing) {
      const b = await loader.next();
      if (closing) break;
      credits--;
      if (!b) {
        parentPort!.postMessage({ type: 'end' });
        break;
      }
      parentPort!.postMessage({ type: 'batch', batch: b }, [b.images.buffer as ArrayBuffer, b.text.buffer as ArrayBuffer]);
    }
  } catch (e) {
    fail(e);
  } finally {
    producing = false;
  }
}

parentPort!.on('message', (msg: Request) => {
  if (msg.type === 'open') {
    credits = msg.credits;
    openLoader(msg.opts).then((l) => {
      loader = l;
      parentPort!.postMessage({ type: 'open' });
      void produce();
    }, fail);
  } else if (msg.type === 'credit') {
    credits++;
    void produce();
  } else {
    closing = true;
    void (async () => {
      while (producing) await new Promise((r) => setTimeout(r, 5));
      await loader?.close();
      parentPort!.postMessage({ type: 'closed' });
      parentPort!.close();
    })();
  }
});
