// Corruption worker thread: corrupts one image of the testbed's corrupted reference (corruption-shift.ts).
import { parentPort } from 'node:worker_threads';
import sharp from 'sharp';
import { corruptTask, type CorruptTask } from './corruption-shift.js';

// Parallelism comes from the pool's threads; libvips' own threads and cache only add overhead for small images.
sharp.concurrency(1);
sharp.cache(false);

parentPort!.on('message', (msg: { id: number; task: CorruptTask }) => {
  corruptTask(msg.task).then(
    (result) => parentPort!.postMessage({ id: msg.id, result }),
    (err: unknown) => parentPort!.postMessage({ id: msg.id, error: err instanceof Error ? (err.stack ?? err.message) : String(err) }),
  );
});
