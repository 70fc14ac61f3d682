// The ingest run: metadata rows in chunks of `shardSize`, each chunk downloaded with bounded concurrency into
// one shard as img2dataset lays it out (tar, `<shard>.parquet` row log, `<shard>_stats.json`), resumable (a shard
// is done iff its tar and stats exist), then `cliplab/stats.json`. Only shard files sit at the top of --out:
// img2dataset's tools parse every top-level `*.json` name as `<shard number>_…`.
import { createHash } from 'node:crypto';
import http from 'node:http';
import https from 'node:https';
import { promises as fsp } from 'node:fs';
import { resolve, relative, isAbsolute, basename, join } from 'node:path';
import { InputError } from '../../util/errors.js';
import { withDirLock } from '../../util/dir-lock.js';
import { writeJsonAtomic } from '../../util/fs.js';
import { progress as makeProgress } from '../../util/progress.js';
import { shardName, writeShard, type ShardSample } from '../shards/writer.js';
import { fetchImage, type FetchOptions } from './fetcher.js';
import { acceptableContentType, resizeToJpeg, sniffImageFormat } from './image-check.js';
import { writeRowLog, type RowRecord } from './row-log.js';
import { listMetadataFiles, readSource } from './sources.js';
import { emptyShardStats, mergeStats, recordOutcome, type OverallStats, type ShardStats } from './stats.js';
import { SOURCES, type AdapterOptions, type BadRowPolicy, type RowEvent, type SourceName } from './types.js';

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
  /** Aborting stops the run; finished shards stay, unfinished ones are redone by the next run. */
  signal?: AbortSignal;
  /** Called after each shard (tar + stats) is on disk. */
  onShardDone?: (stats: ShardStats) => void;
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

/** The options that fix shard contents; a rerun into the same --out must repeat them. */
interface RunConfig {
  source: string;
  metadata: string[];
  shard_size: number;
  image_size: number;
  url_col: string | null;
  caption_col: string | null;
  min_similarity: number | null;
  max_punsafe: number | null;
}

function positiveInt(name: string, v: number | undefined, dflt: number, min = 1): number {
  const x = v ?? dflt;
  if (!Number.isInteger(x) || x < min) throw new InputError(name, `must be an integer ≥ ${min}, got ${String(v)}`);
  return x;
}

/** Bounded concurrency shared by all chunks in flight. */
function limiter(n: number) {
  let active = 0;
  const queue: (() => void)[] = [];
  return async <T>(fn: () => Promise<T>): Promise<T> => {
    // A finishing task hands its slot straight to the next waiter, so `active` never exceeds n.
    if (active >= n) await new Promise<void>((r) => queue.push(r));
    else active++;
    try {
      return await fn();
    } finally {
      const next = queue.shift();
      if (next) next();
      else active--;
    }
  };
}

/** Path of `name` under `out`; refuses anything that would land outside it. */
function inside(out: string, name: string): string {
  const p = resolve(out, name);
  const rel = relative(out, p);
  if (rel === '' || rel.startsWith('..') || isAbsolute(rel)) throw new InputError('--out', `refusing to write outside ${out}: ${name}`);
  return p;
}

async function exists(p: string): Promise<boolean> {
  return fsp.access(p).then(
    () => true,
    () => false,
  );
}

async function checkRunConfig(out: string, cfg: RunConfig): Promise<void> {
  const path = inside(out, RUN_CONFIG);
  // Earlier versions kept it at the top of --out, where img2dataset's tools choke on it: move it.
  const legacy = inside(out, 'ingest.json');
  if (!(await exists(path)) && (await exists(legacy))) {
    await fsp.mkdir(inside(out, CLIPLAB_DIR), { recursive: true });
    await fsp.rename(legacy, path);
  }
  let prev: RunConfig | null = null;
  try {
    prev = JSON.parse(await fsp.readFile(path, 'utf8')) as RunConfig;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw new InputError(path, `unreadable: ${(e as Error).message}`);
  }
  if (prev) {
    for (const k of Object.keys(cfg) as (keyof RunConfig)[]) {
      // A key an earlier version did not record had its default (null).
      if (JSON.stringify(prev[k] ?? null) !== JSON.stringify(cfg[k])) {
        throw new InputError('--out', `${out} holds an ingest with ${k}=${JSON.stringify(prev[k])}, not ${JSON.stringify(cfg[k])}: rerun with the same options or use a new --out`);
      }
    }
    return;
  }
  await writeJsonAtomic(path, cfg);
}

/** cliplab's own files under --out: the run config and the overall stats. */
export const CLIPLAB_DIR = 'cliplab';
const RUN_CONFIG = join(CLIPLAB_DIR, 'ingest.json');
export const OVERALL_STATS = join(CLIPLAB_DIR, 'stats.json');

/** Temp files left by a killed run (`.<name>.tmp-<pid>-<rand>`); never read, safe to delete. */
async function removeStaleTemps(out: string): Promise<void> {
  for (const n of await fsp.readdir(out)) {
    if (/^\..+\.tmp-\d+-[a-z0-9]+$/.test(n)) await fsp.rm(inside(out, n), { force: true });
  }
}

interface RunContext {
  out: string;
  source: SourceName;
  fetch: FetchOptions;
  resize: { imageSize: number; maxPixels: number; jpegQuality: number };
  limit: <T>(fn: () => Promise<T>) => Promise<T>;
  tick: () => void;
  signal: AbortSignal;
}

const sampleKey = (rowIndex: number): string => String(rowIndex).padStart(9, '0');

/** The row-log entry of a row that produced no sample. */
function noSample(rowIndex: number, ev: RowEvent, status: RowRecord['status'], reason: string, httpStatus?: number): RowRecord {
  const r = ev.kind === 'row' ? ev.row : null;
  return {
    key: sampleKey(rowIndex),
    url: r?.url ?? null,
    caption: r?.caption ?? null,
    status,
    error_message: reason,
    width: null,
    height: null,
    original_width: null,
    original_height: null,
    sha256: null,
    row: rowIndex,
    id: r?.id ?? null,
    where: ev.where,
    http_status: httpStatus ?? null,
  };
}

/** Downloads, checks and re-encodes one row; records its outcome; returns its row-log entry and, on success, the sample. */
async function ingestRow(ctx: RunContext, stats: ShardStats, rowIndex: number, ev: RowEvent & { kind: 'row' }): Promise<{ rec: RowRecord; sample: ShardSample | null }> {
  const { url, caption, id, extra } = ev.row;
  const f = await ctx.limit(() => fetchImage(url, ctx.fetch));
  ctx.tick();
  const retries = f.attempts - 1;
  const fail = (outcome: 'failed_to_download' | 'failed_to_resize', reason: string) => {
    recordOutcome(stats, outcome, reason, { httpStatus: f.status, retries });
    return { rec: noSample(rowIndex, ev, outcome, reason, f.status), sample: null };
  };
  if (!f.ok) return fail('failed_to_download', f.error === 'http_error' ? `http_${f.status}` : f.error);
  if (!acceptableContentType(f.contentType)) return fail('failed_to_download', 'bad_content_type');
  const format = sniffImageFormat(f.body);
  if (!format) return fail('failed_to_download', 'not_an_image');
  const r = await resizeToJpeg(f.body, format, ctx.resize);
  if (!r.ok) return fail('failed_to_resize', r.error);
  recordOutcome(stats, 'success', 'success', { httpStatus: f.status, retries });
  const meta: Record<string, unknown> = {
    ...extra,
    source: ctx.source,
    id,
    row: rowIndex,
    url,
    ...(f.finalUrl !== url ? { final_url: f.finalUrl } : {}),
    caption,
    width: r.width,
    height: r.height,
    original_width: r.originalWidth,
    original_height: r.originalHeight,
    original_format: r.format,
  };
  const rec: RowRecord = {
    ...noSample(rowIndex, ev, 'success', '', f.status),
    error_message: null,
    width: r.width,
    height: r.height,
    original_width: r.originalWidth,
    original_height: r.originalHeight,
    sha256: createHash('sha256').update(f.body).digest('hex'),
  };
  return { rec, sample: { key: sampleKey(rowIndex), image: r.jpeg, imageExt: 'jpg', caption, meta } };
}

/** Processes one chunk into one shard: tar, then the row log, stats last (the stats file marks the shard done). */
async function ingestChunk(ctx: RunContext, index: number, firstRow: number, events: RowEvent[]): Promise<ShardStats> {
  const name = shardName('', index);
  const stats = emptyShardStats(name, firstRow);
  const rows = await Promise.all(
    events.map(async (ev, j) => {
      if (ev.kind === 'row') return ingestRow(ctx, stats, firstRow + j, ev);
      ctx.tick();
      if (ev.kind === 'bad') recordOutcome(stats, 'bad_row', ev.reason, { where: ev.where });
      else recordOutcome(stats, 'filtered', ev.reason);
      return { rec: noSample(firstRow + j, ev, ev.kind === 'bad' ? 'bad_row' : 'filtered', ev.reason), sample: null };
    }),
  );
  if (ctx.signal.aborted) throw ctx.signal.reason ?? new Error('aborted');
  await writeShard(inside(ctx.out, name), rows.flatMap((r) => (r.sample ? [r.sample] : [])));
  await writeRowLog(inside(ctx.out, name.replace(/\.tar$/, '.parquet')), rows.map((r) => r.rec));
  stats.end_time = Date.now() / 1000;
  stats.duration = stats.end_time - stats.start_time;
  await writeJsonAtomic(inside(ctx.out, statsName(name)), stats);
  return stats;
}

function statsName(tar: string): string {
  return tar.replace(/\.tar$/, '_stats.json');
}

/** Reads a finished shard's stats, or null when the shard is not done (missing tar or stats, bad stats). */
async function doneStats(out: string, index: number): Promise<ShardStats | null> {
  const name = shardName('', index);
  if (!(await exists(inside(out, name)))) return null;
  try {
    return JSON.parse(await fsp.readFile(inside(out, statsName(name)), 'utf8')) as ShardStats;
  } catch {
    return null;
  }
}

/** Ingests `opts.metadata` into shards under `opts.out`; returns (and writes) the overall stats. */
export async function ingest(opts: IngestOptions): Promise<OverallStats> {
  if (!SOURCES.includes(opts.source)) throw new InputError('--source', `unknown source "${opts.source}" (one of ${SOURCES.join(', ')})`);
  const d = INGEST_DEFAULTS;
  const concurrency = positiveInt('--concurrency', opts.concurrency, d.concurrency);
  const shardSize = positiveInt('--shard-size', opts.shardSize, d.shardSize);
  const imageSize = positiveInt('--image-size', opts.imageSize, d.imageSize);
  const fetch: FetchOptions = {
    timeoutMs: positiveInt('--timeout-ms', opts.timeoutMs, d.timeoutMs),
    retries: positiveInt('--retries', opts.retries, d.retries, 0),
    maxBytes: positiveInt('maxBytes', opts.maxBytes, d.maxBytes),
    maxRedirects: positiveInt('maxRedirects', opts.maxRedirects, d.maxRedirects, 0),
    allowPrivateHosts: opts.allowPrivateHosts ?? false,
    backoffBaseMs: positiveInt('backoffBaseMs', opts.backoffBaseMs, d.backoffBaseMs, 0),
    maxRetryAfterMs: positiveInt('maxRetryAfterMs', opts.maxRetryAfterMs, d.maxRetryAfterMs, 0),
    userAgent: opts.userAgent ?? d.userAgent,
  };
  const onBadRow = opts.onBadRow ?? 'skip';
  if (onBadRow !== 'skip' && onBadRow !== 'fail') throw new InputError('--on-bad-row', `must be skip or fail, got "${String(onBadRow)}"`);
  for (const [flag, v] of [['--min-similarity', opts.minSimilarity], ['--max-punsafe', opts.maxPunsafe]] as const) {
    if (v === undefined) continue;
    if (opts.source !== 'laion') throw new InputError(flag, `LAION's precomputed column: only with --source laion, not ${opts.source}`);
    if (!Number.isFinite(v)) throw new InputError(flag, `expected a number, got ${v}`);
  }
  const files = await listMetadataFiles(opts.metadata, opts.source);
  const out = resolve(opts.out);
  return withDirLock(out, 'ingest', () => ingestLocked(opts, out, files, { concurrency, shardSize, imageSize, fetch, onBadRow }));
}

interface Resolved {
  concurrency: number;
  shardSize: number;
  imageSize: number;
  fetch: FetchOptions;
  onBadRow: BadRowPolicy;
}

async function ingestLocked(opts: IngestOptions, out: string, files: string[], r: Resolved): Promise<OverallStats> {
  const { concurrency, shardSize, imageSize, fetch, onBadRow } = r;
  const d = INGEST_DEFAULTS;
  await checkRunConfig(out, {
    source: opts.source,
    metadata: files.map((f) => basename(f)),
    shard_size: shardSize,
    image_size: imageSize,
    url_col: opts.urlCol ?? null,
    caption_col: opts.captionCol ?? null,
    min_similarity: opts.minSimilarity ?? null,
    max_punsafe: opts.maxPunsafe ?? null,
  });
  await removeStaleTemps(out);

  const controller = new AbortController();
  const onOuterAbort = () => controller.abort(opts.signal?.reason);
  if (opts.signal?.aborted) onOuterAbort();
  opts.signal?.addEventListener('abort', onOuterAbort, { once: true });
  const agents = {
    http: new http.Agent({ keepAlive: true, maxSockets: concurrency }),
    https: new https.Agent({ keepAlive: true, maxSockets: concurrency }),
  };
  const bar = opts.progress === false ? null : makeProgress('ingest', 0, 'images');
  let total = 0;
  let rowsThisRun = 0;
  const ctx: RunContext = {
    out,
    source: opts.source,
    fetch: { ...fetch, signal: controller.signal, agents },
    resize: { imageSize, maxPixels: positiveInt('maxPixels', opts.maxPixels, d.maxPixels), jpegQuality: opts.jpegQuality ?? d.jpegQuality },
    limit: limiter(concurrency),
    tick: () => {
      rowsThisRun++;
      bar?.tick();
    },
    signal: controller.signal,
  };

  const t0 = Date.now();
  const all: ShardStats[] = [];
  let skipped = 0;
  const inFlight = new Map<number, Promise<ShardStats>>();
  const settle = async (index: number) => {
    const s = await inFlight.get(index)!;
    inFlight.delete(index);
    all[index] = s;
    opts.onShardDone?.(s);
  };
  try {
    let index = 0;
    let chunk: RowEvent[] = [];
    let chunkDone: ShardStats | null | undefined;
    const flush = async () => {
      if (chunkDone) {
        all[index] = chunkDone;
        skipped++;
      } else {
        // Keep at most two chunks downloading: the next one starts while the last stragglers finish.
        while (inFlight.size >= 2) await settle(Math.min(...inFlight.keys()));
        total += chunk.length;
        bar?.setTotal(total);
        const p = ingestChunk(ctx, index, index * shardSize, chunk);
        p.catch(() => {});
        inFlight.set(index, p);
      }
      index++;
      chunk = [];
      chunkDone = undefined;
    };
    for await (const ev of readSource(files, opts.source, opts)) {
      if (controller.signal.aborted) break;
      if (chunkDone === undefined) chunkDone = await doneStats(out, index);
      if (ev.kind === 'bad' && onBadRow === 'fail' && !chunkDone) throw new InputError(ev.where, ev.reason);
      chunk.push(ev);
      if (chunk.length === shardSize) await flush();
    }
    if (chunk.length > 0 && !controller.signal.aborted) await flush();
    while (inFlight.size > 0) await settle(Math.min(...inFlight.keys()));
    if (controller.signal.aborted) throw controller.signal.reason ?? new Error('aborted');
  } catch (e) {
    controller.abort(e);
    await Promise.allSettled(inFlight.values());
    throw e;
  } finally {
    bar?.stop();
    opts.signal?.removeEventListener('abort', onOuterAbort);
    agents.http.destroy();
    agents.https.destroy();
  }

  const shards = all.filter((s) => s !== undefined);
  const overall = mergeStats(shards, {
    source: opts.source,
    metadata: files,
    shardsSkipped: skipped,
    durationS: (Date.now() - t0) / 1000,
    rowsThisRun,
  });
  await writeJsonAtomic(inside(out, OVERALL_STATS), overall);
  return overall;
}
