// Per-shard and overall ingest statistics. `<shard>_stats.json` carries img2dataset's fields with its types
// (counts, `status_dict`, `start_time`/`end_time` as epoch seconds, `duration`) so its tools read it, plus
// cliplab's own counts under other names; the overall stats sum them.

/** The row counts a shard's stats and the overall stats share (the overall ones are sums). */
export interface RowCounts {
  /** Metadata rows (= successes + failed_to_download + failed_to_resize + filtered + bad_rows). */
  count: number;
  successes: number;
  failed_to_download: number;
  failed_to_resize: number;
  /** Rows dropped by the source's default filter (LAION NSFW, WIT language, YFCC video). */
  filtered: number;
  /** Malformed metadata rows skipped under --on-bad-row skip. */
  bad_rows: number;
  /** Subset of failed_to_download refused by the address/scheme policy (never contacted). */
  refused: number;
  /** Outcome per row: success, http_404, timeout, redirect_loop, bad_content_type, decode_error, … */
  status_dict: Record<string, number>;
  /** Final HTTP status of every download that got a response. */
  http_status: Record<string, number>;
  filtered_reasons: Record<string, number>;
  /** Up to 20 bad rows with file and row. */
  bad_row_examples: { where: string; reason: string }[];
  /** Attempts beyond the first, over all downloads. */
  retries: number;
}

export interface ShardStats extends RowCounts {
  shard: string;
  /** Global index of the shard's first metadata row. */
  first_row: number;
  /** Seconds since the epoch (float), as img2dataset writes them (`time.time()`). */
  start_time: number;
  end_time: number;
  /** end_time − start_time, in seconds. */
  duration: number;
}

function emptyCounts(): RowCounts {
  return { count: 0, successes: 0, failed_to_download: 0, failed_to_resize: 0, filtered: 0, bad_rows: 0, refused: 0, status_dict: {}, http_status: {}, filtered_reasons: {}, bad_row_examples: [], retries: 0 };
}

export type Outcome = 'success' | 'failed_to_download' | 'failed_to_resize' | 'filtered' | 'bad_row';

export function emptyShardStats(shard: string, firstRow: number): ShardStats {
  return { shard, first_row: firstRow, ...emptyCounts(), start_time: Date.now() / 1000, end_time: 0, duration: 0 };
}

function bump(m: Record<string, number>, k: string, n = 1): void {
  m[k] = (m[k] ?? 0) + n;
}

/** Records one row's outcome; `reason` is its status_dict key (or the filter reason / bad-row reason). */
export function recordOutcome(s: ShardStats, outcome: Outcome, reason: string, extra: { httpStatus?: number; retries?: number; where?: string } = {}): void {
  s.count++;
  if (extra.httpStatus) bump(s.http_status, String(extra.httpStatus));
  s.retries += extra.retries ?? 0;
  switch (outcome) {
    case 'success':
      s.successes++;
      bump(s.status_dict, 'success');
      return;
    case 'failed_to_download':
      s.failed_to_download++;
      if (reason.startsWith('refused_')) s.refused++;
      bump(s.status_dict, reason);
      return;
    case 'failed_to_resize':
      s.failed_to_resize++;
      bump(s.status_dict, reason);
      return;
    case 'filtered':
      s.filtered++;
      bump(s.filtered_reasons, reason);
      bump(s.status_dict, 'filtered');
      return;
    case 'bad_row':
      s.bad_rows++;
      bump(s.status_dict, 'bad_row');
      if (s.bad_row_examples.length < 20) s.bad_row_examples.push({ where: extra.where ?? '', reason });
  }
}

export interface OverallStats extends RowCounts {
  source: string;
  metadata: string[];
  shards: number;
  /** Shards found complete and skipped by this run (resume). */
  shards_skipped: number;
  success_rate: number;
  /** This run only: wall time and downloaded rows per second. */
  duration_s: number;
  images_per_s: number;
  /** Only in what a process taking a share of the chunks returns: shards of the input still missing. */
  pending_shards?: number;
}

/** Sums shard stats (in shard order) into the overall stats. */
export function mergeStats(
  shards: ShardStats[],
  run: { source: string; metadata: string[]; shardsSkipped: number; durationS: number; rowsThisRun: number },
): OverallStats {
  const o: OverallStats = {
    source: run.source,
    metadata: run.metadata,
    shards: shards.length,
    shards_skipped: run.shardsSkipped,
    ...emptyCounts(),
    success_rate: 0,
    duration_s: Math.round(run.durationS * 1000) / 1000,
    images_per_s: run.durationS > 0 ? Math.round((run.rowsThisRun / run.durationS) * 100) / 100 : 0,
  };
  for (const s of shards) {
    o.count += s.count;
    o.successes += s.successes;
    o.failed_to_download += s.failed_to_download;
    o.failed_to_resize += s.failed_to_resize;
    o.filtered += s.filtered;
    o.bad_rows += s.bad_rows;
    o.refused += s.refused;
    o.retries += s.retries;
    for (const [k, v] of Object.entries(s.status_dict)) bump(o.status_dict, k, v);
    for (const [k, v] of Object.entries(s.http_status)) bump(o.http_status, k, v);
    for (const [k, v] of Object.entries(s.filtered_reasons)) bump(o.filtered_reasons, k, v);
    for (const e of s.bad_row_examples) if (o.bad_row_examples.length < 20) o.bad_row_examples.push(e);
  }
  const attempted = o.successes + o.failed_to_download + o.failed_to_resize;
  o.success_rate = attempted > 0 ? Math.round((o.successes / attempted) * 10000) / 10000 : 0;
  return o;
}

/** When every attempted download was refused by the address policy (nothing was contacted), the hint to give. */
export function allRefusedHint(o: OverallStats): string | null {
  const attempted = o.successes + o.failed_to_download + o.failed_to_resize;
  const refused = o.status_dict.refused_address ?? 0;
  if (attempted === 0 || refused !== attempted) return null;
  return (
    `every URL (${refused}) was refused as a loopback, private or link-local address and none was fetched; ` +
    'pass --allow-private-hosts to download from such hosts (a local server, an intranet)'
  );
}
