// Ingest options: what a caller may set, the defaults, and their validation into the settings a run uses.
import { z } from 'zod';
import { InputError } from '../../util/errors.js';
import { type OptionsOf, type ValueKind, choice, flag, int, num, option, text } from '../../util/options.js';
import type { FetchOptions } from './fetcher.js';
import { SOURCES, type AdapterOptions, type BadRowPolicy, type SourceName } from './types.js';
import type { ShardStats } from './stats.js';

/** Which of the input's chunks a process takes: chunk c when c mod count = index. */
export interface ChunkShare {
  index: number;
  count: number;
}

type TableOptions = OptionsOf<typeof INGEST_OPTIONS>;

export type IngestOptions = AdapterOptions &
  Omit<TableOptions, 'source' | 'metadata' | 'out'> & {
    source: SourceName;
    /** A metadata file, or a directory of them (read in name order). */
    metadata: string;
    out: string;
    /** Largest body downloaded, in bytes (default 32 MiB). */
    maxBytes?: number;
    maxRedirects?: number;
    /** Decompression-bomb guard: inputs with more pixels are refused (default 89,478,485, PIL's limit). */
    maxPixels?: number;
    backoffBaseMs?: number;
    maxRetryAfterMs?: number;
    jpegQuality?: number;
    userAgent?: string;
    /** Aborting stops the run; finished shards stay, unfinished ones are redone by the next run. */
    signal?: AbortSignal;
    /** Called after each shard (tar + stats) is on disk. */
    onShardDone?: (stats: ShardStats) => void;
    /** Called once per metadata row processed (whatever its outcome). */
    onRow?: () => void;
    /** Progress bar on stderr (when a TTY and not quiet); default true. */
    progress?: boolean;
  };

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

/** Reads `i/n` from the command line (checked again, with the library's values, in resolveOptions). */
export const chunkKind: ValueKind<ChunkShare> = {
  schema: z.object({ index: z.number().int().min(0), count: z.number().int().min(1) }).refine((c) => c.index < c.count),
  want: 'i/n with 0 ≤ i < n',
  fromText: (t) => parseChunkShare(t),
};

/**
 * The options `cliplab ingest` takes on its command line and the library takes in camelCase, declared once
 * (the flags and IngestOptions derive from this table; defaults in INGEST_DEFAULTS).
 */
export const INGEST_OPTIONS = {
  source: option(choice(SOURCES), { flag: '--source <name>', help: `metadata format: ${SOURCES.join('|')}`, required: true }),
  metadata: option(text, { flag: '--metadata <file>', help: 'metadata file, or a directory of them (read in name order)', required: true }),
  out: option(text, { flag: '--out <dir>', help: 'output directory for shards and stats (rerun to resume)', required: true }),
  urlCol: option(text, { flag: '--url-col <name>', help: 'column holding the image URL (default: the source’s)' }),
  captionCol: option(text, { flag: '--caption-col <name>', help: 'column holding the caption (default: the source’s); wit: columns tried in order, a,b,…' }),
  minSimilarity: option(num('a number'), { flag: '--min-similarity <x>', help: 'laion: keep rows whose similarity (LAION’s CLIP score) is at least x' }),
  maxPunsafe: option(num('a number'), { flag: '--max-punsafe <p>', help: 'laion-2B: keep rows whose punsafe is at most p' }),
  concurrency: option(int(1), { flag: '--concurrency <n>', help: 'downloads in flight', defaultText: String(INGEST_DEFAULTS.concurrency) }),
  timeoutMs: option(int(1), { flag: '--timeout-ms <ms>', help: 'per-attempt timeout (connect, headers and body)', defaultText: String(INGEST_DEFAULTS.timeoutMs) }),
  retries: option(int(0), { flag: '--retries <n>', help: 'retries on 429/5xx/timeouts/resets (never on other 4xx)', defaultText: String(INGEST_DEFAULTS.retries) }),
  imageSize: option(int(1), { flag: '--image-size <n>', help: 'longest side after resizing (aspect kept, never enlarged)', defaultText: String(INGEST_DEFAULTS.imageSize) }),
  shardSize: option(int(1), { flag: '--shard-size <n>', help: 'metadata rows per input chunk = per output shard', defaultText: String(INGEST_DEFAULTS.shardSize) }),
  allowPrivateHosts: option(flag, { flag: '--allow-private-hosts', help: 'allow loopback/private/link-local addresses (tests, intranets)' }),
  onBadRow: option(choice(['skip', 'fail'] as const), { flag: '--on-bad-row <policy>', help: 'skip|fail on a malformed metadata row', defaultText: 'skip' }),
  chunk: option(chunkKind, { flag: '--chunk <i/n>', help: 'take only chunks c with c mod n = i (one job of a cluster array); the last job to finish writes the overall stats' }),
};


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
