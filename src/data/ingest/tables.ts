// Readers for the tabular metadata formats: TSV, CSV (RFC 4180 quoting, multi-line fields), JSONL (each
// optionally gzipped) and parquet (one row group at a time). They yield raw records with their positions.
import { createReadStream } from 'node:fs';
import { createGunzip } from 'node:zlib';
import { createInterface } from 'node:readline';
import { basename } from 'node:path';
import { asyncBufferFromFile, parquetMetadataAsync, parquetReadObjects, parquetSchema } from 'hyparquet';
import { InputError } from '../../util/errors.js';

/** A text line with its 1-based line number. */
export interface Line {
  text: string;
  lineNo: number;
}

/** Lines of a text file, gunzipped when it ends in .gz; a UTF-8 BOM on the first line is dropped. */
export async function* readLines(path: string): AsyncGenerator<Line> {
  if (/\.(bz2|xz|zst|zstd)$/i.test(path)) {
    throw new InputError(path, 'compressed with bzip2/xz/zstd: decompress it first (gzip .gz is read directly)');
  }
  const raw = createReadStream(path);
  const stream = path.toLowerCase().endsWith('.gz') ? raw.pipe(createGunzip()) : raw;
  raw.on('error', (e) => stream.destroy(e));
  const rl = createInterface({ input: stream, crlfDelay: Infinity });
  let lineNo = 0;
  try {
    for await (const text of rl) {
      lineNo++;
      yield { text: lineNo === 1 && text.charCodeAt(0) === 0xfeff ? text.slice(1) : text, lineNo };
    }
  } catch (e) {
    throw new InputError(`${basename(path)}:line ${lineNo + 1}`, `cannot read: ${(e as Error).message}`);
  } finally {
    rl.close();
    raw.destroy();
  }
}

/** Splits one TSV line on tabs; a field wrapped in double quotes is unwrapped ("" → "). */
export function splitTsv(line: string): string[] {
  return line.split('\t').map((f) => (f.length >= 2 && f.startsWith('"') && f.endsWith('"') ? f.slice(1, -1).replaceAll('""', '"') : f));
}

/** One CSV record parsed from `text`; `complete` is false when a quoted field is still open at the end. */
export function parseCsvRecord(text: string, delimiter = ','): { fields: string[]; complete: boolean } {
  const fields: string[] = [];
  let field = '';
  let i = 0;
  let quoted = false;
  while (i < text.length) {
    const c = text[i]!;
    if (quoted) {
      if (c === '"') {
        if (text[i + 1] === '"') {
          field += '"';
          i += 2;
          continue;
        }
        quoted = false;
      } else field += c;
      i++;
      continue;
    }
    if (c === '"' && field === '') quoted = true;
    else if (c === delimiter) {
      fields.push(field);
      field = '';
    } else field += c;
    i++;
  }
  fields.push(field);
  return { fields, complete: !quoted };
}

/** CSV records (a quoted field may span lines) with the line number each starts on. */
export async function* readCsvRecords(path: string): AsyncGenerator<{ fields: string[]; lineNo: number }> {
  let pending: string | null = null;
  let startLine = 0;
  for await (const { text, lineNo } of readLines(path)) {
    const joined: string = pending === null ? text : `${pending}\n${text}`;
    if (pending === null) startLine = lineNo;
    const rec = parseCsvRecord(joined);
    if (!rec.complete) {
      pending = joined;
      continue;
    }
    pending = null;
    yield { fields: rec.fields, lineNo: startLine };
  }
  if (pending !== null) throw new InputError(`${basename(path)}:line ${startLine}`, 'unterminated quoted field at end of file');
}

/** One parsed JSONL line, or the parse error for it. */
export type JsonLine = { lineNo: number; value: unknown } | { lineNo: number; error: string };

export async function* readJsonLines(path: string): AsyncGenerator<JsonLine> {
  for await (const { text, lineNo } of readLines(path)) {
    if (text.trim() === '') continue;
    try {
      yield { lineNo, value: JSON.parse(text) as unknown };
    } catch (e) {
      yield { lineNo, error: `invalid JSON: ${(e as Error).message}` };
    }
  }
}

/** A parquet row (column name → value) or a range of rows that could not be decoded. */
export type ParquetItem = { rowNo: number; record: Record<string, unknown> } | { rowNo: number; error: string };

/** Column names of a parquet file's top-level schema; InputError when the footer is unreadable. */
export async function parquetColumns(path: string): Promise<string[]> {
  const file = await asyncBufferFromFile(path);
  try {
    const metadata = await parquetMetadataAsync(file);
    return parquetSchema(metadata).children.map((c) => c.element.name);
  } catch (e) {
    throw new InputError(basename(path), `not a readable parquet file: ${(e as Error).message}`);
  }
}

/** Parquet rows one row group at a time; a row group that fails to decode yields one error per row. */
export async function* readParquetRows(path: string, columns?: string[]): AsyncGenerator<ParquetItem> {
  let file;
  let metadata;
  try {
    file = await asyncBufferFromFile(path);
    metadata = await parquetMetadataAsync(file);
  } catch (e) {
    throw new InputError(basename(path), `not a readable parquet file: ${(e as Error).message}`);
  }
  let start = 0;
  for (const group of metadata.row_groups) {
    const n = Number(group.num_rows);
    let rows: Record<string, unknown>[] | null = null;
    let error = '';
    try {
      rows = (await parquetReadObjects({ file, metadata, columns, rowStart: start, rowEnd: start + n })) as Record<string, unknown>[];
    } catch (e) {
      error = `cannot decode row group: ${(e as Error).message}`;
    }
    for (let i = 0; i < n; i++) {
      if (rows && rows[i]) yield { rowNo: start + i + 1, record: rows[i]! };
      else yield { rowNo: start + i + 1, error: error || 'row missing from row group' };
    }
    start += n;
  }
}
