// Corruption worker thread: corrupts one image of the testbed's corrupted reference (corruption-shift.ts).
import sharp from 'sharp';
import { serveTasks } from '../../util/worker-pool.js';
import { corruptTask } from './corruption-shift.js';

// Parallelism comes from the pool's threads; libvips' own threads and cache only add overhead for small images.
sharp.concurrency(1);
sharp.cache(false);

serveTasks(corruptTask);
