// Loader worker thread: receives chunks of encoded samples, answers with cropped RGB bytes and token ids.
import { parentPort } from 'node:worker_threads';
import sharp from 'sharp';
import { processChunk, type ChunkTask } from './process-chunk.js';

// Parallelism comes from the loader's threads; libvips' own threads and cache only add overhead for small images.
sharp.concurrency(1);
sharp.cache(false);

interface Request {
  id: number;
  task: ChunkTask;
}

parentPort!.on('message', (msg: Request) => {
  processChunk(msg.task).then(
    (result) => parentPort!.postMessage({ id: msg.id, result }, [result.rgb.buffer as ArrayBuffer, result.text.buffer as ArrayBuffer, result.ok.buffer as ArrayBuffer]),
    (err: unknown) => parentPort!.postMessage({ id: msg.id, error: err instanceof Error ? (err.stack ?? err.message) : String(err) }),
  );
});
