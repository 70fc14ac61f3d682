// The training data loader: seeded shard order + shuffle buffer per source, sources mixed by proportion per
// sample, decode/augment/tokenize on worker threads with prefetch, fixed-size batches and an exact data position.
import { InputError } from '../../util/errors.js';
import { Rng } from '../../util/rng.js';
import type { AlphaMode } from '../images/alpha.js';
import { CLIP_MEAN, CLIP_STD, normalizeInto, type TransformOptions } from '../images/transform.js';
import { countFromSizesJson, listShards } from '../shards/list.js';
import { newReadStats, type ReadStats } from '../shards/reader.js';
import { seedFrom } from '../../util/seed.js';
import { endlessOrder, type OrderedRecord } from './order.js';
import { ChunkPool } from './pool.js';
import { checkCompatible, initialPosition, type DataPosition, type SourcePosition } from './position.js';
import type { ChunkResult } from './process-chunk.js';

export interface LoaderSource {
  /** Shard directory, .tar file, brace pattern or `::` list (see listShards). */
  path: string;
  /** Relative proportion; default 1. Normalized over sources. */
  weight?: number;
  /** Name recorded in the data position; default the path. */
  name?: string;
}

export interface LoaderOptions {
  sources: LoaderSource[];
  batchSize: number;
  /** Model image size S. */
  imageSize: number;
  /** Token context length; default 77. */
  contextLength?: number;
  seed?: number;
  /** Worker threads for decode/augment/tokenize; default 2; 0 = in the calling thread. */
  threads?: number;
  /** Batches of work kept in flight ahead of the consumer; default 2. */
  prefetchBatches?: number;
  /** Shuffle buffer size per source; default 1000. */
  shuffleBuffer?: number;
  /** 'train' (default): shuffled, RandomResizedCrop. 'eval': shard order as listed, no shuffle, center crop. */
  mode?: 'train' | 'eval';
  scale?: readonly [number, number];
  ratio?: readonly [number, number];
  maxPixels?: number;
  /** Transparency: 'drop' (default, as OpenCLIP), or flatten on 'white' / 'black'. */
  alpha?: AlphaMode;
  /** Resume from a position taken from `DataLoader.position()` / `Batch.position`. */
  position?: DataPosition;
  /** true (default): each source cycles through epochs forever; false: one epoch of one source, last batch may be short. */
  loop?: boolean;
  signal?: AbortSignal;
}

export interface Batch {
  /** Number of samples (= batchSize except for the last batch when loop is false). */
  n: number;
  /** [n, 3, S, S], CLIP-normalized. */
  images: Float32Array;
  /** [n, contextLength] token ids. */
  text: BigInt64Array;
  keys: string[];
  /** Source index of each sample. */
  sources: number[];
  /** Position after this batch: pass it as `position` to resume with the next batch. */
  position: DataPosition;
}

/** Preallocated arrays a batch can be written into: [batchSize, 3, S, S] images and [batchSize, ctx] tokens. */
export interface BatchBuffers {
  images: Float32Array;
  text: BigInt64Array;
}

interface FeedItem {
  chunk: ChunkResult;
  i: number;
  key: string;
  order: OrderedRecord;
}

/** One source: its ordered records, processed in chunks on the pool, kept `maxInFlight` chunks ahead. */
class SourceFeed {
  private readonly raw: AsyncGenerator<OrderedRecord>;
  private readonly inflight: Promise<FeedItem[]>[] = [];
  private ready: FeedItem[] = [];
  private rawDone = false;
  private pumping = false;
  private error: unknown = null;
  private wake: (() => void) | null = null;
  private closed = false;

  constructor(
    private readonly index: number,
    raw: AsyncGenerator<OrderedRecord>,
    private readonly pool: ChunkPool,
    private readonly transform: TransformOptions,
    private readonly contextLength: number,
    private readonly seed: number,
    private readonly chunkSize: number,
    private readonly maxInFlight: number,
  ) {
    this.raw = raw;
  }

  private notify(): void {
    const w = this.wake;
    this.wake = null;
    w?.();
  }

  private launch(records: OrderedRecord[]): Promise<FeedItem[]> {
    const items = records.map((o) => ({
      image: o.rec.image,
      caption: o.rec.caption,
      augSeed: seedFrom('aug', this.seed, this.index, o.epoch, o.index).toString(),
    }));
    return this.pool.run({ items, transform: this.transform, contextLength: this.contextLength }).then((chunk) =>
      records.map((order, i) => ({ chunk, i, key: order.rec.key, order })),
    );
  }

  /** Keeps reading records and dispatching chunks until `maxInFlight` chunks wait for the consumer. */
  pump(): void {
    if (this.pumping || this.closed || this.rawDone || this.error) return;
    this.pumping = true;
    void (async () => {
      try {
        while (!this.closed && !this.rawDone && this.inflight.length < this.maxInFlight) {
          const recs: OrderedRecord[] = [];
          while (recs.length < this.chunkSize) {
            const r = await this.raw.next();
            if (r.done) {
              this.rawDone = true;
              break;
            }
            recs.push(r.value);
          }
          if (recs.length === 0 || this.closed) break;
          const p = this.launch(recs);
          p.then(
            () => this.pump(),
            () => {},
          );
          this.inflight.push(p);
          this.notify();
        }
      } catch (e) {
        this.error = e;
      } finally {
        this.pumping = false;
        this.notify();
      }
    })();
  }

  /** Next processed record in order, or null when the source is exhausted (loop = false). */
  async next(): Promise<FeedItem | null> {
    for (;;) {
      if (this.ready.length > 0) return this.ready.shift()!;
      if (this.inflight.length > 0) {
        const head = this.inflight.shift()!;
        this.pump();
        this.ready = await head;
        continue;
      }
      if (this.error) throw this.error;
      if (this.rawDone && !this.pumping) return null;
      const woken = new Promise<void>((r) => (this.wake = r));
      this.pump();
      await woken;
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    this.notify();
    await this.raw.return(undefined).catch(() => {});
  }
}

export class DataLoader {
  readonly stats: ReadStats = newReadStats();
  private pos: DataPosition;
  private readonly feeds: SourceFeed[];
  private readonly cumulative: number[];
  private finished = false;

  private constructor(
    private readonly opts: LoaderOptions & { seed: number; contextLength: number },
    readonly names: string[],
    shardLists: string[][],
    /** Samples per source from sizes.json (null when unknown). */
    readonly sourceSizes: (number | null)[],
    private readonly pool: ChunkPool,
  ) {
    const { seed, batchSize } = opts;
    this.pos = opts.position ? structuredClone(opts.position) : initialPosition(seed, batchSize, names);
    const mode = opts.mode ?? 'train';
    const transform: TransformOptions = { size: opts.imageSize, mode, scale: opts.scale, ratio: opts.ratio, maxPixels: opts.maxPixels, alpha: opts.alpha };
    const threads = Math.max(1, pool.threads);
    const chunkSize = Math.max(4, Math.min(64, Math.ceil(batchSize / (2 * threads))));
    const total = opts.sources.reduce((a, s) => a + (s.weight ?? 1), 0);
    this.cumulative = [];
    let acc = 0;
    for (const s of opts.sources) this.cumulative.push((acc += (s.weight ?? 1) / total));
    this.feeds = opts.sources.map((s, i) => {
      const share = (s.weight ?? 1) / total;
      const maxInFlight = Math.max(2, Math.ceil(((opts.prefetchBatches ?? 2) * batchSize * share) / chunkSize));
      const sp = this.pos.sources[i]!;
      const raw = endlessOrder(
        { shards: shardLists[i]!, seed, source: i, bufferSize: opts.shuffleBuffer ?? 1000, shuffle: mode === 'train', stats: this.stats, signal: opts.signal, name: names[i]!, loop: opts.loop ?? true },
        sp.epoch,
        sp.consumed,
      );
      return new SourceFeed(i, raw, pool, transform, opts.contextLength, seed, chunkSize, maxInFlight);
    });
    for (const f of this.feeds) f.pump();
  }

  /** Lists every source's shards, checks options and the resume position, starts the workers. */
  static async open(opts: LoaderOptions): Promise<DataLoader> {
    if (opts.sources.length === 0) throw new InputError('sources', 'at least one source is needed');
    if (!Number.isInteger(opts.batchSize) || opts.batchSize < 1) throw new InputError('batchSize', 'must be a positive integer');
    if (!Number.isInteger(opts.imageSize) || opts.imageSize < 1) throw new InputError('imageSize', 'must be a positive integer');
    for (const [i, s] of opts.sources.entries()) {
      if (s.weight !== undefined && !(s.weight > 0 && Number.isFinite(s.weight))) throw new InputError(`sources[${i}].weight`, 'must be a positive number');
    }
    if (opts.loop === false && opts.sources.length > 1) throw new InputError('loop', 'a single pass (loop: false) takes one source');
    const seed = opts.seed ?? 0;
    const names = opts.sources.map((s) => s.name ?? s.path);
    if (new Set(names).size !== names.length) throw new InputError('sources', 'source names must be unique');
    if (opts.position) checkCompatible(opts.position, seed, opts.batchSize, names);
    const shardLists = await Promise.all(opts.sources.map((s) => listShards(s.path)));
    const sizes = await Promise.all(shardLists.map((l) => countFromSizesJson(l)));
    const pool = new ChunkPool(opts.threads ?? 2);
    return new DataLoader({ ...opts, seed, contextLength: opts.contextLength ?? 77 }, names, shardLists, sizes, pool);
  }

  /** The position after the last batch returned (a copy). */
  position(): DataPosition {
    return structuredClone(this.pos);
  }

  /** Source index of each slot of batch `b`: seeded per batch, so it does not depend on earlier batches. */
  private drawSources(b: number): number[] {
    const B = this.opts.batchSize;
    if (this.feeds.length === 1) return new Array<number>(B).fill(0);
    const rng = new Rng(seedFrom('mix', this.opts.seed, b));
    return Array.from({ length: B }, () => {
      const u = rng.random();
      const k = this.cumulative.findIndex((c) => u < c);
      return k < 0 ? this.cumulative.length - 1 : k;
    });
  }

  /**
   * The next batch, or null after the last one (only when loop is false). With `into`, the batch is written
   * there and its arrays are views of it (reusing buffers spares an allocation per batch, and the garbage
   * collections that brings); otherwise into new arrays.
   */
  async next(into?: BatchBuffers): Promise<Batch | null> {
    const { batchSize: B, imageSize: S, contextLength: ctx } = this.opts;
    const plane = 3 * S * S;
    if (into && (into.images.length !== B * plane || into.text.length !== B * ctx))
      throw new InputError('into', `batch buffers must hold ${B * plane} image values and ${B * ctx} token ids`);
    if (this.finished) return null;
    const images = into?.images ?? new Float32Array(B * plane);
    const text = into?.text ?? new BigInt64Array(B * ctx);
    const keys: string[] = [];
    const sources: number[] = [];
    const draws = this.drawSources(this.pos.batches);
    const last: (OrderedRecord | undefined)[] = new Array(this.feeds.length);
    let n = 0;
    while (n < B) {
      const s = draws[n]!;
      const item = await this.feeds[s]!.next();
      if (!item) {
        this.finished = true;
        break;
      }
      const o = item.order;
      last[s] = o;
      if (!item.chunk.ok[item.i]) {
        this.stats.corruptImages++;
        continue;
      }
      normalizeInto(item.chunk.rgb, S, images, n * plane, CLIP_MEAN, CLIP_STD, item.i * plane);
      text.set(item.chunk.text.subarray(item.i * ctx, (item.i + 1) * ctx), n * ctx);
      keys.push(item.key);
      sources.push(s);
      n++;
    }
    if (n === 0) return null;
    const pos = this.pos.sources.map((p, s): SourcePosition => {
      const o = last[s];
      return o ? { name: p.name, epoch: o.epoch, consumed: o.index + 1, shardsDone: o.shardsDone } : { ...p };
    });
    this.pos = { ...this.pos, batches: this.pos.batches + 1, samples: this.pos.samples + n, sources: pos };
    const batch: Batch =
      n === B
        ? { n, images, text, keys, sources, position: this.position() }
        : into
          ? { n, images: images.subarray(0, n * plane), text: text.subarray(0, n * ctx), keys, sources, position: this.position() }
          : { n, images: images.slice(0, n * plane), text: text.slice(0, n * ctx), keys, sources, position: this.position() };
    return batch;
  }

  async *[Symbol.asyncIterator](): AsyncGenerator<Batch> {
    for (;;) {
      const b = await this.next();
      if (!b) return;
      yield b;
    }
  }

  /** Stops reading and terminates the worker threads. Always call it (the workers keep the process alive). */
  async close(): Promise<void> {
    this.finished = true;
    await Promise.all(this.feeds.map((f) => f.close()));
    await this.pool.close();
  }
}

/** Opens a loader (see DataLoader.open). */
export function openLoader(opts: LoaderOptions): Promise<DataLoader> {
  return DataLoader.open(opts);
}
