// Loader worker thread: receives chunks of encoded samples, answers with cropped RGB bytes and token ids.
import sharp from 'sharp';
import { serveTasks } from '../../util/worker-pool.js';
import { processChunk } from './process-chunk.js';

// Parallelism comes from the loader's threads; libvips' own threads and cache only add overhead for small images.
sharp.concurrency(1);
sharp.cache(false);

serveTasks(processChunk, (r) => [r.rgb.buffer as ArrayBuffer, r.text.buffer as ArrayBuffer, r.ok.buffer as ArrayBuffer]);
