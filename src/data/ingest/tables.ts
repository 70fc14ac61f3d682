// Readers for the tabular metadata formats: TSV, CSV (RFC 4180 quoting, multi-line fields), JSONL (each
// optionally gzipped) and parquet (one row group at a time). They yield raw records with their positions.
import { createReadStream } from 'node:fs';
import { createGunzip } from 'node:zlib';
import { basename } from 'node:path';
import { asyncBufferFromFile, parquetMetadataAsync, parquetReadObjects, parquetSchema } from 'hyparquet';
import { InputError } from '../../util/errors.js';

/**
 * A text line with its 1-based line number, or (`error` set, `text` empty) a line that cannot be used: not
 * valid UTF-8, or longer than MAX_LINE_BYTES (read past, never held in memory whole).
 */
export interface Line {
  text: string;
  lineNo: number;
  error?: string;
}

/** Longest metadata line (and CSV record) read: rows are URLs, captions and a few fields, never megabytes. */
export const MAX_LINE_BYTES = 16 * 1024 * 1024;

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** Lines of a text file, gunzipped when it ends in .gz; a UTF-8 BOM on the first line is dropped, CRLF as LF. */
export async function* readLines(path: string): AsyncGenerator<Line> {
  if (/\.(bz2|xz|zst|zstd)$/i.test(path)) {
    throw new InputError(path, 'compressed with bzip2/xz/zstd: decompress it first (gzip .gz is read directly)');
  }
  const raw = createReadStream(path);
  const stream = path.toLowerCase().endsWith('.gz') ? raw.pipe(createGunzip()) : raw;
  raw.on('error', (e) => stream.destroy(e));
  let lineNo = 0;
  let parts: Buffer[] = [];
  let size = 0;
  let tooLong = false;
  const finish = (): Line => {
    lineNo++;
    const where = { lineNo, text: '' };
    if (tooLong) return { ...where, error: `line is longer than ${MAX_LINE_BYTES} bytes (the limit)` };
    let bytes = parts.length === 1 ? parts[0]! : Buffer.concat(parts);
    if (bytes.length > 0 && bytes[bytes.length - 1] === 0x0d) bytes = bytes.subarray(0, bytes.length - 1);
    let text: string;
    try {
      text = utf8.decode(bytes);
    } catch {
      return { ...where, error: 'not valid UTF-8' };
    }
    return { lineNo, text: lineNo === 1 && text.charCodeAt(0) === 0xfeff ? text.slice(1) : text };
  };
  try {
    for await (const chunk of stream as AsyncIterable<Buffer>) {
      let from = 0;
      for (let nl = chunk.indexOf(0x0a); nl >= 0; nl = chunk.indexOf(0x0a, from)) {
        if (!tooLong && size + nl - from <= MAX_LINE_BYTES) parts.push(chunk.subarray(from, nl));
        else tooLong = true;
        yield finish();
        parts = [];
        size = 0;
        tooLong = false;
        from = nl + 1;
      }
      if (from < chunk.length) {
        size += chunk.length - from;
        if (size > MAX_LINE_BYTES) {
          tooLong = true;
          parts = [];
        } else parts.push(chunk.subarray(from));
      }
    }
    if (size > 0 || tooLong) yield finish();
  } catch (e) {
    if (e instanceof InputError) throw e;
    throw new InputError(`${basename(path)}:line ${lineNo + 1}`, `cannot read: ${(e as Error).message}`);
  } finally {
    raw.destroy();
  }
}

/** Splits one TSV line on tabs; a field wrapped in double quotes is unwrapped ("" → "). */
export function splitTsv(line: string): string[] {
  return line.split('\t').map((f) => (f.length >= 2 && f.startsWith('"') && f.endsWith('"') ? f.slice(1, -1).replaceAll('""', '"') : f));
}

/** A CSV record being parsed, line by line (so a quoted field spanning lines costs linear time). */
class CsvParser {
  fields: string[] = [];
  field = '';
  quoted = false;
  size = 0;

  constructor(private readonly delimiter: string) {}

  /** Feeds one line (without its newline); true when the record is complete. Runs are copied with slices. */
  feed(text: string): boolean {
    this.size += text.length + 1;
    let i = 0;
    while (i < text.length) {
      if (this.quoted) {
        const q = text.indexOf('"', i);
        if (q < 0) {
          this.field += text.slice(i);
          break;
        }
        this.field += text.slice(i, q);
        if (text[q + 1] === '"') {
          this.field += '"';
          i = q + 2;
        } else {
          this.quoted = false;
          i = q + 1;
        }
        continue;
      }
      if (text[i] === '"' && this.field === '') {
        this.quoted = true;
        i++;
        continue;
      }
      const d = text.indexOf(this.delimiter, i);
      const stop = d < 0 ? text.length : d;
      // A quote inside an unquoted field is literal, so only the delimiter ends it.
      this.field += text.slice(i, stop);
      if (d < 0) break;
      this.fields.push(this.field);
      this.field = '';
      i = d + 1;
    }
    if (this.quoted) {
      this.field += '\n';
      return false;
    }
    this.fields.push(this.field);
    return true;
  }
}

/** One CSV record parsed from `text`; `complete` is false when a quoted field is still open at the end. */
export function parseCsvRecord(text: string, delimiter = ','): { fields: string[]; complete: boolean } {
  const p = new CsvParser(delimiter);
  const complete = p.feed(text);
  return { fields: complete ? p.fields : [...p.fields, p.field.slice(0, -1)], complete };
}

/**
 * CSV records (a quoted field may span lines) with the line number each starts on; an unusable line (see
 * readLines) is an `error` record. A quoted field still open after MAX_LINE_BYTES is an unclosed quote.
 */
export async function* readCsvRecords(path: string): AsyncGenerator<{ fields: string[]; lineNo: number; error?: string }> {
  let p: CsvParser | null = null;
  let startLine = 0;
  for await (const { text, lineNo, error } of readLines(path)) {
    if (error !== undefined) {
      if (p) throw new InputError(`${basename(path)}:line ${lineNo}`, `${error}, inside the quoted field opened at line ${startLine}`);
      yield { fields: [], lineNo, error };
      continue;
    }
    if (!p) {
      p = new CsvParser(',');
      startLine = lineNo;
    }
    if (!p.feed(text)) {
      if (p.size > MAX_LINE_BYTES) throw new InputError(`${basename(path)}:line ${startLine}`, `quoted field still open after ${MAX_LINE_BYTES} bytes (the limit): an unclosed quote?`);
      continue;
    }
    yield { fields: p.fields, lineNo: startLine };
    p = null;
  }
  if (p) throw new InputError(`${basename(path)}:line ${startLine}`, 'unterminated quoted field at end of file');
}

/** One parsed JSONL line, or the parse error for it. */
export type JsonLine = { lineNo: number; value: unknown } | { lineNo: number; error: string };

export async function* readJsonLines(path: string): AsyncGenerator<JsonLine> {
  for await (const { text, lineNo, error } of readLines(path)) {
    if (error !== undefined) {
      yield { lineNo, error };
      continue;
    }
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

/**
 * The footer's row counts are claims: each must be a non-negative integer, they must add up to the file's
 * num_rows, and the total cannot exceed the file's size in bytes (a metadata row costs at least a byte even
 * compressed; a 1 KB footer claiming 10¹² rows is not a file to iterate over).
 */
function checkRowCounts(name: string, metadata: { num_rows: bigint | number; row_groups: { num_rows: bigint | number }[] }, bytes: number): void {
  let sum = 0n;
  for (const [i, g] of metadata.row_groups.entries()) {
    const n = BigInt(g.num_rows);
    if (n < 0n) throw new InputError(name, `row group ${i} claims ${n} rows`);
    sum += n;
  }
  if (BigInt(metadata.num_rows) !== sum) throw new InputError(name, `the footer claims ${metadata.num_rows} rows but its row groups hold ${sum}`);
  if (sum > BigInt(bytes)) throw new InputError(name, `the footer claims ${sum} rows in a ${bytes}-byte file (the limit is one row per byte): corrupt or hostile parquet`);
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
  checkRowCounts(basename(path), metadata, file.byteLength);
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
