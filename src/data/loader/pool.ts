// The loader's worker threads (or inline processing when threads = 0): decode, augment and tokenize chunks.
import { WorkerPool, workerEntry } from '../../util/worker-pool.js';
import { processChunk, type ChunkResult, type ChunkTask } from './process-chunk.js';

export class ChunkPool extends WorkerPool<ChunkTask, ChunkResult> {
  constructor(threads: number) {
    super(threads, () => workerEntry(import.meta.url, 'worker'), processChunk, 'loader worker');
  }
}
