// The ingest run: metadata rows in chunks of `shardSize`, each chunk one shard (see chunk.ts), resumable (a
// shard is done iff its tar and stats exist); a process may take a share of the chunks (`chunk: {index,
// count}`), and whichever finds every shard done assembles cliplab/stats.json.
import http from 'node:http';
import https from 'node:https';
import { setMaxListeners } from 'node:events';
import { promises as fsp } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { InputError } from '../../util/errors.js';
import { withDirLock } from '../../util/dir-lock.js';
import { progress as makeProgress } from '../../util/progress.js';
import { ingestChunk, limiter, type RunContext } from './chunk.js';
import { resolveOptions, type IngestOptions, type ResolvedOptions } from './options.js';
import { assembleStats, checkRunConfig, doneStats, removeStaleTemps, sha256File, type RunTiming } from './out-dir.js';
import { listMetadataFiles, readSource } from './sources.js';
import { mergeStats, type OverallStats, type ShardStats } from './stats.js';
import type { RowEvent } from './types.js';

export { INGEST_DEFAULTS, type IngestOptions } from './options.js';
export { CLIPLAB_DIR, OVERALL_STATS } from './out-dir.js';

/** Checks the options and lists the metadata files (before anything is written). */
export async function checkInputs(opts: IngestOptions): Promise<Inputs> {
  return { r: resolveOptions(opts), files: await listMetadataFiles(opts.metadata, opts.source), out: resolve(opts.out) };
}

export interface Inputs {
  r: ResolvedOptions;
  files: string[];
  out: string;
}

/** Records or checks the run config in --out and removes this share's stale temp files. */
export async function prepareOut(opts: IngestOptions, inputs: Inputs): Promise<void> {
  await recordRunConfig(opts, inputs);
  const { chunk } = inputs.r;
  await removeStaleTemps(inputs.out, (i) => i % chunk.count === chunk.index);
}

/** Records the run config in --out, or refuses a rerun with other options (before anything else is written). */
export async function recordRunConfig(opts: IngestOptions, { r, files, out }: Inputs): Promise<void> {
  await fsp.mkdir(out, { recursive: true });
  await checkRunConfig(out, {
    source: opts.source,
    metadata: files.map((f) => basename(f)),
    shard_size: r.shardSize,
    image_size: r.resize.imageSize,
    url_col: opts.urlCol ?? null,
    caption_col: opts.captionCol ?? null,
    min_similarity: opts.minSimilarity ?? null,
    max_punsafe: opts.maxPunsafe ?? null,
    metadata_sha256: await Promise.all(files.map(sha256File)),
  });
}

/**
 * How many chunks (= shards) the input makes, by reading the metadata without fetching anything: what a driver
 * of cluster jobs needs to assemble stats.json. A bad row stops it under `--on-bad-row fail`, as it would a job.
 */
export async function countChunks(opts: IngestOptions, { r, files }: Inputs, signal?: AbortSignal): Promise<number> {
  let rows = 0;
  for await (const ev of readSource(files, opts.source, opts)) {
    if (signal?.aborted) throw signal.reason ?? new Error('aborted');
    if (ev.kind === 'bad' && r.onBadRow === 'fail') throw new InputError(ev.where, ev.reason);
    rows++;
  }
  return Math.ceil(rows / r.shardSize);
}

interface Scheduled {
  /** Every chunk of the input (this process's and the others'). */
  chunks: number;
  /** This process's shards, done now (by this run or found done). */
  mine: ShardStats[];
  skipped: number;
}

/**
 * Reads the metadata once, cuts it into chunks and runs this process's share of them, at most two chunks
 * downloading at a time (the next starts while the last stragglers of the previous one finish).
 */
async function runChunks(opts: IngestOptions, r: ResolvedOptions, files: string[], ctx: RunContext & { abort: (e: unknown) => void; onTotal: (n: number) => void }): Promise<Scheduled> {
  const { shardSize, chunk: share } = r;
  const done: ShardStats[] = [];
  const inFlight = new Map<number, Promise<ShardStats>>();
  let skipped = 0;
  let total = 0;
  const settle = async (index: number) => {
    const s = await inFlight.get(index)!;
    inFlight.delete(index);
    done.push(s);
    opts.onShardDone?.(s);
  };
  let index = 0;
  let chunk: RowEvent[] = [];
  let rows = 0;
  let state: 'other' | 'done' | 'todo' | undefined;
  const flush = async () => {
    if (state === 'todo') {
      while (inFlight.size >= 2) await settle(Math.min(...inFlight.keys()));
      total += chunk.length;
      ctx.onTotal(total);
      const p = ingestChunk(ctx, index, index * shardSize, chunk);
      p.catch(() => {});
      inFlight.set(index, p);
    }
    index++;
    chunk = [];
    rows = 0;
    state = undefined;
  };
  try {
    for await (const ev of readSource(files, opts.source, opts)) {
      if (ctx.signal.aborted) break;
      if (state === undefined) {
        if (index % share.count !== share.index) state = 'other';
        else {
          const s = await doneStats(ctx.out, index);
          if (s) {
            done.push(s);
            skipped++;
          }
          state = s ? 'done' : 'todo';
        }
      }
      if (state === 'todo') {
        if (ev.kind === 'bad' && r.onBadRow === 'fail') throw new InputError(ev.where, ev.reason);
        chunk.push(ev);
      }
      if (++rows === shardSize) await flush();
    }
    if (rows > 0 && !ctx.signal.aborted) await flush();
    while (inFlight.size > 0) await settle(Math.min(...inFlight.keys()));
  } catch (e) {
    ctx.abort(e);
    await Promise.allSettled(inFlight.values());
    throw e;
  }
  if (ctx.signal.aborted) throw ctx.signal.reason ?? new Error('aborted');
  return { chunks: index, mine: done.sort((a, b) => a.first_row - b.first_row), skipped };
}

/** One process's share of an ingest: its chunks done, nothing shared written (see `ingest`). */
export interface ShareResult extends Scheduled {
  out: string;
  timing: RunTiming;
}

/**
 * Runs this process's share of the chunks (`opts.chunk`, default all of them). The caller holds the lock:
 * `ingest` takes it, and `ingest --processes` holds --out for all its workers.
 */
export async function ingestShare(opts: IngestOptions, inputs?: Inputs): Promise<ShareResult> {
  const checked = inputs ?? (await checkInputs(opts));
  await prepareOut(opts, checked);
  const { r, files, out } = checked;
  const controller = new AbortController();
  // Every download in flight listens on this signal; more than Node's default of 10 is expected.
  setMaxListeners(0, controller.signal);
  const onOuterAbort = () => controller.abort(opts.signal?.reason);
  if (opts.signal?.aborted) onOuterAbort();
  opts.signal?.addEventListener('abort', onOuterAbort, { once: true });
  const agents = {
    http: new http.Agent({ keepAlive: true, maxSockets: r.concurrency }),
    https: new https.Agent({ keepAlive: true, maxSockets: r.concurrency }),
  };
  const bar = opts.progress === false ? null : makeProgress('ingest', 0, 'images');
  let rowsThisRun = 0;
  const ctx: RunContext = {
    out,
    source: opts.source,
    fetch: { ...r.fetch, signal: controller.signal, agents },
    resize: r.resize,
    limit: limiter(r.concurrency),
    tick: () => {
      rowsThisRun++;
      bar?.tick();
      opts.onRow?.();
    },
    signal: controller.signal,
  };
  const t0 = Date.now();
  try {
    const run = await runChunks(opts, r, files, { ...ctx, abort: (e) => controller.abort(e), onTotal: (n) => bar?.setTotal(n) });
    return { ...run, out, timing: { source: opts.source, metadata: files, shardsSkipped: run.skipped, durationS: (Date.now() - t0) / 1000, rowsThisRun } };
  } finally {
    bar?.stop();
    opts.signal?.removeEventListener('abort', onOuterAbort);
    agents.http.destroy();
    agents.https.destroy();
  }
}

/**
 * Ingests `opts.metadata` (or this process's share of it) into shards under `opts.out`. Returns the overall
 * stats, also written to stats.json once every shard of the input is done; while shards of other processes
 * are still missing, returns this process's stats with `pending_shards` set and writes nothing shared.
 */
export async function ingest(opts: IngestOptions): Promise<OverallStats> {
  const inputs = await checkInputs(opts);
  // One writer per directory; a cluster job holds only its own share, so that the other jobs can write too.
  const { index, count } = inputs.r.chunk;
  const lock = count > 1 ? join(inputs.out, `.chunk-${index}-of-${count}`) : inputs.out;
  return withDirLock(lock, 'ingest', async () => {
    const run = await ingestShare(opts, inputs);
    const { overall, missing } = await assembleStats(run.out, run.chunks, run.timing);
    return overall ?? { ...mergeStats(run.mine, run.timing), pending_shards: missing };
  });
}
