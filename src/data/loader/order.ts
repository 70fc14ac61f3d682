// The deterministic per-epoch order of one source: seeded shard order, then a seeded shuffle buffer. The same
// (seed, source, epoch) always yields the same sequence, so a position (epoch, consumed) is enough to resume.
import { InputError } from '../../util/errors.js';
import { Rng } from '../../util/rng.js';
import { seedFrom } from '../../util/seed.js';
import { readShard, type ReadStats, type ShardRecord } from '../shards/reader.js';

/** A record in epoch order: `index` is its 0-based place in the epoch; `shardsDone` counts shards fully read when it came out. */
export interface OrderedRecord {
  rec: ShardRecord;
  epoch: number;
  index: number;
  shardsDone: number;
}

export interface EpochOrderOptions {
  shards: readonly string[];
  seed: number;
  /** Index of the source in the loader (keeps sources' orders independent). */
  source: number;
  /** Shuffle buffer size; 0 or 1 disables sample shuffling (shard order is still shuffled unless `shuffle` is false). */
  bufferSize: number;
  /** False: shards in the given order, no buffer (evaluation). */
  shuffle: boolean;
  stats: ReadStats;
  signal?: AbortSignal;
}

/** Shard order of one epoch: a seeded permutation of `shards`. */
export function shardOrder(shards: readonly string[], seed: number, source: number, epoch: number): string[] {
  return new Rng(seedFrom('shards', seed, source, epoch)).shuffle([...shards]);
}

/**
 * Yields one epoch of a source in its deterministic order. Shuffle buffer: fill to `bufferSize`, then each
 * incoming record replaces a uniformly drawn buffer slot whose record is emitted; at the end the rest is
 * shuffled and emitted. Broken samples are dropped by the reader before the buffer, so the order depends
 * only on the shards' contents and the seed.
 */
export async function* epochOrder(opts: EpochOrderOptions, epoch: number): AsyncGenerator<OrderedRecord> {
  const shards = opts.shuffle ? shardOrder(opts.shards, opts.seed, opts.source, epoch) : [...opts.shards];
  const rng = new Rng(seedFrom('buffer', opts.seed, opts.source, epoch));
  const size = opts.shuffle ? Math.max(1, opts.bufferSize) : 1;
  const buffer: ShardRecord[] = [];
  let index = 0;
  let shardsDone = 0;
  for (const shard of shards) {
    for await (const rec of readShard(shard, { stats: opts.stats, signal: opts.signal })) {
      if (size <= 1) {
        yield { rec, epoch, index: index++, shardsDone };
        continue;
      }
      if (buffer.length < size) {
        buffer.push(rec);
        continue;
      }
      const j = rng.int(size);
      const out = buffer[j]!;
      buffer[j] = rec;
      yield { rec: out, epoch, index: index++, shardsDone };
    }
    shardsDone++;
  }
  rng.shuffle(buffer);
  for (const rec of buffer) yield { rec, epoch, index: index++, shardsDone };
}

/**
 * Epochs `startEpoch`, `startEpoch + 1`, … (only `startEpoch` when `loop` is false), skipping the first `skip`
 * records of the first one without decoding them (resume). Throws InputError when an epoch has no sample.
 */
export async function* endlessOrder(opts: EpochOrderOptions & { name: string; loop: boolean }, startEpoch: number, skip: number): AsyncGenerator<OrderedRecord> {
  let epoch = startEpoch;
  let toSkip = skip;
  for (;;) {
    let n = 0;
    for await (const r of epochOrder(opts, epoch)) {
      n++;
      if (toSkip > 0) {
        toSkip--;
        continue;
      }
      yield r;
    }
    if (n === 0) throw new InputError(opts.name, 'no readable sample in its shards');
    if (toSkip > 0) throw new InputError(opts.name, `resume position is past the end of epoch ${epoch} (${n} samples)`);
    if (!opts.loop || opts.signal?.aborted) return;
    epoch++;
  }
}
