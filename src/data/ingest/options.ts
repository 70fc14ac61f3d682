// Ingest options: what a caller may set, the defaults, and their validation into the settings a run uses.
import { InputError } from '../../util/errors.js';
import type { FetchOptions } from './fetcher.js';
import { SOURCES, type AdapterOptions, type BadRowPolicy, type SourceName } from './types.js';
import type { ShardStats } from './stats.js';

/** Which of the input's chunks a process takes: chunk c when c mod count = index. */
export interface ChunkShare {
  index: number;
  count: number;
}

export interface IngestOptions extends AdapterOptions {
  source: SourceName;
  /** A metadata file, or a directory of them (read in name order). */
  metadata: string;
  out: string;
  concurrency?: number;
  timeoutMs?: number;
  retries?: number;
  imageSize?: number;
  shardSize?: number;
  allowPrivateHosts?: boolean;
  onBadRow?: BadRowPolicy;
  /** Largest body downloaded, in bytes (default 32 MiB). */
  maxBytes?: number;
  maxRedirects?: number;
  /** Decompression-bomb guard: inputs with more pixels are refused (default 89,478,485, PIL's limit). */
  maxPixels?: number;
  backoffBaseMs?: number;
  maxRetryAfterMs?: number;
  jpegQuality?: number;
  userAgent?: string;
  /** Work on this share of the chunks only (one of several processes or cluster jobs); default all. */
  chunk?: ChunkShare;
  /** Aborting stops the run; finished shards stay, unfinished ones are redone by the next run. */
  signal?: AbortSignal;
  /** Called after each shard (tar + stats) is on disk. */
  onShardDone?: (stats: ShardStats) => void;
  /** Called once per metadata row processed (whatever its outcome). */
  onRow?: () => void;
  /** Progress bar on stderr (when a TTY and not quiet); default true. */
  progress?: boolean;
}

export const INGEST_DEFAULTS = {
  concurrency: 16,
  timeoutMs: 10_000,
  retries: 2,
  imageSize: 256,
  shardSize: 1000,
  maxBytes: 32 * 1024 * 1024,
  maxRedirects: 5,
  maxPixels: 89_478_485,
  backoffBaseMs: 500,
  maxRetryAfterMs: 30_000,
  jpegQuality: 95,
  userAgent: 'cliplab-ingest/0.1 (research image-text dataset builder)',
} as const;

/** The validated settings of one run. */
export interface ResolvedOptions {
  concurrency: number;
  shardSize: number;
  fetch: FetchOptions;
  resize: { imageSize: number; maxPixels: number; jpegQuality: number };
  onBadRow: BadRowPolicy;
  chunk: ChunkShare;
}

function positiveInt(name: string, v: number | undefined, dflt: number, min = 1): number {
  const x = v ?? dflt;
  if (!Number.isInteger(x) || x < min) throw new InputError(name, `must be an integer ≥ ${min}, got ${String(v)}`);
  return x;
}

/** Parses `i/n` (0 ≤ i < n) as a chunk share; the error names `flag`. */
export function parseChunkShare(text: string, flag = '--chunk'): ChunkShare {
  const m = /^(\d+)\/(\d+)$/.exec(text.trim());
  const share = m ? { index: Number(m[1]), count: Number(m[2]) } : null;
  if (!share || share.count < 1 || share.index >= share.count) throw new InputError(flag, `must be i/n with 0 ≤ i < n, got "${text}"`);
  return share;
}

export function resolveOptions(opts: IngestOptions): ResolvedOptions {
  if (!SOURCES.includes(opts.source)) throw new InputError('--source', `unknown source "${opts.source}" (one of ${SOURCES.join(', ')})`);
  const d = INGEST_DEFAULTS;
  const onBadRow = opts.onBadRow ?? 'skip';
  if (onBadRow !== 'skip' && onBadRow !== 'fail') throw new InputError('--on-bad-row', `must be skip or fail, got "${String(onBadRow)}"`);
  const chunk = opts.chunk ?? { index: 0, count: 1 };
  if (!Number.isInteger(chunk.count) || chunk.count < 1 || !Number.isInteger(chunk.index) || chunk.index < 0 || chunk.index >= chunk.count) {
    throw new InputError('--chunk', `must be i/n with 0 ≤ i < n, got ${chunk.index}/${chunk.count}`);
  }
  for (const [flag, v] of [['--min-similarity', opts.minSimilarity], ['--max-punsafe', opts.maxPunsafe]] as const) {
    if (v === undefined) continue;
    if (opts.source !== 'laion') throw new InputError(flag, `LAION's precomputed column: only with --source laion, not ${opts.source}`);
    if (!Number.isFinite(v)) throw new InputError(flag, `expected a number, got ${v}`);
  }
  return {
    concurrency: positiveInt('--concurrency', opts.concurrency, d.concurrency),
    shardSize: positiveInt('--shard-size', opts.shardSize, d.shardSize),
    fetch: {
      timeoutMs: positiveInt('--timeout-ms', opts.timeoutMs, d.timeoutMs),
      retries: positiveInt('--retries', opts.retries, d.retries, 0),
      maxBytes: positiveInt('maxBytes', opts.maxBytes, d.maxBytes),
      maxRedirects: positiveInt('maxRedirects', opts.maxRedirects, d.maxRedirects, 0),
      allowPrivateHosts: opts.allowPrivateHosts ?? false,
      backoffBaseMs: positiveInt('backoffBaseMs', opts.backoffBaseMs, d.backoffBaseMs, 0),
      maxRetryAfterMs: positiveInt('maxRetryAfterMs', opts.maxRetryAfterMs, d.maxRetryAfterMs, 0),
      userAgent: opts.userAgent ?? d.userAgent,
    },
    resize: {
      imageSize: positiveInt('--image-size', opts.imageSize, d.imageSize),
      maxPixels: positiveInt('maxPixels', opts.maxPixels, d.maxPixels),
      jpegQuality: opts.jpegQuality ?? d.jpegQuality,
    },
    onBadRow,
    chunk,
  };
}
