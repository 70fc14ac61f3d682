// Decode worker thread: reads image files and answers with eval-preprocessed, CLIP-normalized CHW floats.
import { parentPort } from 'node:worker_threads';
import sharp from 'sharp';
import { decodeFiles, type DecodeTask } from './decode.js';

// Parallelism comes from the pool's threads; libvips' own threads and cache only add overhead for small images.
sharp.concurrency(1);
sharp.cache(false);

parentPort!.on('message', (msg: { id: number; task: DecodeTask }) => {
  decodeFiles(msg.task).then(
    (result) => parentPort!.postMessage({ id: msg.id, result }, [result.images.buffer as ArrayBuffer, result.ok.buffer as ArrayBuffer]),
    (err: unknown) => parentPort!.postMessage({ id: msg.id, error: err instanceof Error ? (err.stack ?? err.message) : String(err) }),
  );
});
