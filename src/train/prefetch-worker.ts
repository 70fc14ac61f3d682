// Batch prefetch thread: runs the data loader off the main thread (which ORT's synchronous run blocks) and
// writes finished batches into the shared ring of batch buffers, as far ahead as free slots allow.
// Unless ORT's threads spin, it runs at the lowest priority (nice 19): on a machine whose cores ORT's threads
// fill, it then takes the moments they leave idle instead of preempting the step; `--workers` decode threads
// keep normal priority, for when the step waits for data.
import { parentPort } from 'node:worker_threads';
import { openLoader, type BatchBuffers, type DataLoader, type LoaderOptions } from '../data/loader/index.js';
import { setThreadNice, threadId } from '../util/thread-priority.js';
import type { SlotBatch } from './prefetch.js';

type Request = { type: 'open'; opts: LoaderOptions; slots: BatchBuffers[]; nice: number | null } | { type: 'free'; slot: number } | { type: 'close' };

let loader: DataLoader | null = null;
let slots: BatchBuffers[] = [];
const free: number[] = [];
let producing = false;
let closing = false;

function fail(e: unknown): void {
  parentPort!.postMessage({ type: 'error', name: e instanceof Error ? e.name : 'Error', message: e instanceof Error ? e.message : String(e) });
}

async function produce(): Promise<void> {
  if (producing || !loader) return;
  producing = true;
  try {
    while (free.length > 0 && !closing) {
      const slot = free.shift()!;
      const b = await loader.next(slots[slot]);
      if (closing) break;
      if (!b) {
        parentPort!.postMessage({ type: 'end' });
        break;
      }
      const batch: SlotBatch = { n: b.n, keys: b.keys, sources: b.sources, position: b.position, slot };
      parentPort!.postMessage({ type: 'batch', batch });
    }
  } catch (e) {
    fail(e);
  } finally {
    producing = false;
  }
}

parentPort!.on('message', (msg: Request) => {
  if (msg.type === 'open') {
    slots = msg.slots;
    free.push(...slots.keys());
    openLoader(msg.opts).then((l) => {
      loader = l;
      if (msg.nice !== null) setThreadNice(msg.nice); // after the loader started its decode threads: new threads inherit it
      parentPort!.postMessage({ type: 'open', tid: threadId() });
      void produce();
    }, fail);
  } else if (msg.type === 'free') {
    free.push(msg.slot);
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
