// Decode worker thread: reads image files and answers with eval-preprocessed, CLIP-normalized CHW floats.
import sharp from 'sharp';
import { serveTasks } from '../util/worker-pool.js';
import { decodeFiles } from './decode.js';

// Parallelism comes from the pool's threads; libvips' own threads and cache only add overhead for small images.
sharp.concurrency(1);
sharp.cache(false);

serveTasks(decodeFiles, (r) => [r.images.buffer as ArrayBuffer, r.ok.buffer as ArrayBuffer]);
