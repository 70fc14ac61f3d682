// Tests for the prefetch thread: the batches it hands over are the loader's own, through a ring of slots that
// is reused many times, and a batch's arrays stay intact while the next one is taken.
import { describe, it, expect, beforeAll } from 'vitest';
import { existsSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ShardWriter } from '../data/shards/writer.js';
import { syntheticSample } from '../data/shards/synthetic.js';
import { openLoader, type Batch, type LoaderOptions } from '../data/loader/index.js';
import { LOADER_NICE, PrefetchedBatches } from './prefetch.js';

let dir = '';
beforeAll(async () => {
  dir = join(mkdtempSync(join(tmpdir(), 'cliplab-prefetch-')), 'a');
  const w = new ShardWriter({ dir, shardSize: 10 });
  for (let i = 0; i < 23; i++) await w.write(await syntheticSample(i, { size: 20, keyPrefix: 'p' }));
  await w.close();
});

const copy = (b: Batch) => ({ keys: b.keys, images: Array.from(b.images), text: Array.from(b.text), position: b.position });

describe('prefetched batches', () => {
  it('hands over the loader’s batches in order through a reused ring, each intact until the one after next', async () => {
    const opts: LoaderOptions = { sources: [{ path: dir }], batchSize: 4, imageSize: 12, contextLength: 9, seed: 5, threads: 0, shuffleBuffer: 5 };
    const n = 12; // 4 times the ring of 3 slots
    const direct = await openLoader(opts);
    const want: ReturnType<typeof copy>[] = [];
    for (let i = 0; i < n; i++) want.push(copy((await direct.next())!));
    await direct.close();

    const pre = await PrefetchedBatches.open(opts, 3);
    try {
      let prev = (await pre.next())!;
      expect(copy(prev)).toEqual(want[0]);
      for (let i = 1; i < n; i++) {
        const cur = (await pre.next())!;
        expect(copy(prev)).toEqual(want[i - 1]); // taking batch i left batch i − 1 as it was
        expect(copy(cur)).toEqual(want[i]);
        prev = cur;
      }
    } finally {
      await pre.close();
    }
  });

  it.runIf(existsSync('/proc/thread-self'))('runs the loader thread at the lowest priority; the step’s and decode threads keep theirs', async () => {
    const nice = (task: string): number => Number(readFileSync(`/proc/${process.pid}/task/${task}/stat`, 'utf8').split(') ')[1]!.split(' ')[16]);
    const base = nice(String(process.pid)); // what the test runner was started with (`nice npm test` raises it)
    expect(base).toBeLessThan(LOADER_NICE);
    const pre = await PrefetchedBatches.open({ sources: [{ path: dir }], batchSize: 2, imageSize: 8, threads: 1 }, 2, { spinning: false, threads: 2 });
    try {
      expect(pre.tid).not.toBeNull();
      expect(nice(String(pre.tid))).toBe(LOADER_NICE);
      expect(nice(String(process.pid))).toBe(base); // the main thread, where ORT runs
      const lowered = readdirSync(`/proc/${process.pid}/task`).filter((t) => nice(t) === LOADER_NICE);
      expect(lowered).toEqual([String(pre.tid)]); // not the --workers decode thread it started
    } finally {
      await pre.close();
    }
  });

  it('rejects with the loader’s own message when the data cannot be opened', async () => {
    await expect(PrefetchedBatches.open({ sources: [{ path: join(dir, 'missing') }], batchSize: 2, imageSize: 8 })).rejects.toThrow(/missing/);
  });
});
