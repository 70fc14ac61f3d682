// The per-shard row log `<shard>.parquet`, one row per metadata row, with img2dataset's columns (url, caption,
// key, status, error_message, width, height, original_width, original_height, sha256) plus cliplab's own
// (row, id, where, http_status); and the reader that lists which rows failed and why, for ours or img2dataset's.
import { promises as fsp } from 'node:fs';
import { join } from 'node:path';
import { parquetWriteBuffer } from 'hyparquet-writer';
import { writeFileAtomic } from '../../util/fs.js';
import { readParquetRows } from './tables.js';

/** img2dataset's three outcomes, plus the two rows it never sees: filtered by the source's filter, malformed. */
export type RowStatus = 'success' | 'failed_to_download' | 'failed_to_resize' | 'filtered' | 'bad_row';

export interface RowRecord {
  /** The sample key (also for rows that produced no sample). */
  key: string;
  url: string | null;
  caption: string | null;
  status: RowStatus;
  /** Why the row is not a sample (a status_dict reason, a filter reason or a bad-row reason); null on success. */
  error_message: string | null;
  width: number | null;
  height: number | null;
  original_width: number | null;
  original_height: number | null;
  /** sha256 of the downloaded bytes, hex (img2dataset's default `compute_hash`). */
  sha256: string | null;
  /** Global index of the metadata row. */
  row: number;
  id: string | null;
  /** File and line (or parquet row, RedCaps annotation) of the metadata row. */
  where: string;
  http_status: number | null;
}

type Column = { name: keyof RowRecord; type: 'STRING' | 'INT32' | 'INT64' };
const COLUMNS: Column[] = [
  { name: 'url', type: 'STRING' },
  { name: 'caption', type: 'STRING' },
  { name: 'key', type: 'STRING' },
  { name: 'status', type: 'STRING' },
  { name: 'error_message', type: 'STRING' },
  // img2dataset writes these as int32 (pa.int32()).
  { name: 'width', type: 'INT32' },
  { name: 'height', type: 'INT32' },
  { name: 'original_width', type: 'INT32' },
  { name: 'original_height', type: 'INT32' },
  { name: 'sha256', type: 'STRING' },
  { name: 'row', type: 'INT64' },
  { name: 'id', type: 'STRING' },
  { name: 'where', type: 'STRING' },
  { name: 'http_status', type: 'INT32' },
];

/** Writes the row log atomically (snappy-compressed parquet, as pyarrow writes by default). */
export async function writeRowLog(path: string, rows: RowRecord[]): Promise<void> {
  const columnData = COLUMNS.map(({ name, type }) => ({
    name,
    type,
    data: rows.map((r) => (type === 'INT64' ? BigInt(r[name] as number) : r[name])),
  }));
  const buf = parquetWriteBuffer({ columnData: columnData as Parameters<typeof parquetWriteBuffer>[0]['columnData'], createdBy: 'cliplab ingest' });
  await writeFileAtomic(path, new Uint8Array(buf));
}

/** A row of a row log as read: img2dataset's files lack cliplab's columns. */
export type LoggedRow = Partial<Omit<RowRecord, 'status'>> & { key: string; status: string; file: string };

const asNumber = (v: unknown): number | null => (typeof v === 'bigint' ? Number(v) : typeof v === 'number' ? v : null);

/** Every row of every `*.parquet` row log in `dir` (shard order), optionally only those `keep` accepts. */
export async function readRowLogs(dir: string, keep: (r: LoggedRow) => boolean = () => true): Promise<LoggedRow[]> {
  const files = (await fsp.readdir(dir)).filter((n) => n.endsWith('.parquet') && !n.startsWith('.')).sort();
  const out: LoggedRow[] = [];
  for (const f of files) {
    for await (const item of readParquetRows(join(dir, f))) {
      if ('error' in item) continue;
      const rec = item.record;
      const r: LoggedRow = { file: f, key: String(rec.key ?? ''), status: String(rec.status ?? '') };
      for (const [k, v] of Object.entries(rec)) {
        if (k === 'key' || k === 'status') continue;
        (r as Record<string, unknown>)[k] = typeof v === 'bigint' ? asNumber(v) : v;
      }
      if (keep(r)) out.push(r);
    }
  }
  return out;
}
