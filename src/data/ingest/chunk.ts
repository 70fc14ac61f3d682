// One input chunk into one shard as img2dataset lays it out: each row downloaded (bounded concurrency shared
// by the run), checked, re-encoded and counted; the tar first, then the `<shard>.parquet` row log, the stats
// file last (it marks the shard done).
import { createHash } from 'node:crypto';
import { writeJsonAtomic } from '../../util/fs.js';
import { shardName, writeShard, type ShardSample } from '../shards/writer.js';
import { withoutCredentials } from './address-policy.js';
import { fetchImage, type FetchOptions } from './fetcher.js';
import { acceptableContentType, resizeToJpeg, sniffImageFormat } from './image-check.js';
import { inside, statsName } from './out-dir.js';
import { writeRowLog, type RowRecord } from './row-log.js';
import { emptyShardStats, recordOutcome, type ShardStats } from './stats.js';
import type { RowEvent, SourceName } from './types.js';

export interface RunContext {
  out: string;
  source: SourceName;
  fetch: FetchOptions;
  resize: { imageSize: number; maxPixels: number; jpegQuality: number };
  limit: <T>(fn: () => Promise<T>) => Promise<T>;
  tick: () => void;
  signal: AbortSignal;
}

/** Bounded concurrency shared by all chunks in flight. */
export function limiter(n: number) {
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

const sampleKey = (rowIndex: number): string => String(rowIndex).padStart(9, '0');

/** The row-log entry of a row that produced no sample. */
function noSample(rowIndex: number, ev: RowEvent, status: RowRecord['status'], reason: string, httpStatus?: number): RowRecord {
  const r = ev.kind === 'row' ? ev.row : null;
  return {
    key: sampleKey(rowIndex),
    url: r ? withoutCredentials(r.url) : null,
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
    url: withoutCredentials(url),
    ...(f.finalUrl !== url ? { final_url: withoutCredentials(f.finalUrl) } : {}),
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
export async function ingestChunk(ctx: RunContext, index: number, firstRow: number, events: RowEvent[]): Promise<ShardStats> {
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
