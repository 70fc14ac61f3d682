// Turns one metadata file into named records (column → value) with their positions: header handling for
// TSV/CSV, fixed column names for headerless sources, parquet, JSONL and RedCaps annotation JSON.
import { promises as fsp } from 'node:fs';
import { InputError } from '../../util/errors.js';
import { readCsvRecords, readJsonLines, readLines, readParquetRows, splitTsv, parquetColumns } from './tables.js';

/** A record with its position, or a row that could not be split into columns. */
export type RawRecord = { where: string; record: Record<string, unknown> } | { where: string; error: string };

export interface TsvSpec {
  /** 'required': first line names the columns. 'optional': names given, first line is a header if it holds
   * `headerMarker`. 'none': names given, no header. */
  header: 'required' | 'optional' | 'none';
  names?: string[];
  /** A column name whose presence in line 1 marks it as a header (case-insensitive). */
  headerMarker?: string;
  /** Alternative column sets for headerless files, chosen by line 1's field count (YFCC: 25 or 23). */
  namesByCount?: Record<number, string[]>;
  /** Friendly errors for first lines with a given field count (e.g. YFCC's ID-only subset list). */
  explainCount?: Record<number, string>;
}

function zip(names: string[], fields: string[]): Record<string, unknown> {
  const r: Record<string, unknown> = {};
  names.forEach((n, i) => (r[n] = fields[i]));
  return r;
}

function countError(expected: number, fields: string[], line: string, sep: string): string {
  const hint =
    fields.length === 1 && (sep === '\t' ? /[,;]/.test(line) : line.includes('\t')) ? ' (wrong delimiter?)' : '';
  const sepName = sep === '\t' ? 'tab' : 'comma';
  return `expected ${expected} ${sepName}-separated fields, found ${fields.length}${hint}`;
}

export async function* tsvRecords(path: string, spec: TsvSpec): AsyncGenerator<RawRecord> {
  let names: string[] | null = spec.header === 'required' ? null : (spec.names ?? null);
  let first = true;
  for await (const { text, lineNo, error } of readLines(path)) {
    const where = `${path}:line ${lineNo}`;
    if (error !== undefined) {
      if (first && spec.header === 'required') throw new InputError(where, `header: ${error}`);
      first = false;
      yield { where, error };
      continue;
    }
    if (text === '') continue;
    const fields = splitTsv(text);
    if (first) {
      first = false;
      const lower = fields.map((f) => f.trim().toLowerCase());
      if (spec.header === 'required') {
        if (fields.length === 1 && /[,;]/.test(text)) {
          throw new InputError(where, 'header has a single column: this does not look tab-separated (wrong delimiter?)');
        }
        names = fields.map((f) => f.trim());
        continue;
      }
      if (spec.header === 'optional' && spec.headerMarker && lower.includes(spec.headerMarker.toLowerCase())) {
        names = fields.map((f) => f.trim());
        continue;
      }
      const explain = spec.explainCount?.[fields.length];
      if (explain) throw new InputError(where, explain);
      const byCount = spec.namesByCount?.[fields.length];
      if (byCount) names = byCount;
    }
    if (!names) continue;
    if (fields.length !== names.length) {
      yield { where, error: countError(names.length, fields, text, '\t') };
      continue;
    }
    yield { where, record: zip(names, fields) };
  }
}

export async function* csvRecords(path: string): AsyncGenerator<RawRecord> {
  let names: string[] | null = null;
  for await (const { fields, lineNo, error } of readCsvRecords(path)) {
    const where = `${path}:line ${lineNo}`;
    if (error !== undefined) {
      if (names === null) throw new InputError(where, `header: ${error}`);
      yield { where, error };
      continue;
    }
    if (names === null) {
      names = fields.map((f) => f.trim());
      if (names.length === 1 && fields[0]!.includes('\t')) {
        throw new InputError(where, 'header has a single column: this does not look comma-separated (wrong delimiter?)');
      }
      continue;
    }
    if (fields.length === 1 && fields[0] === '') continue;
    if (fields.length !== names.length) {
      yield { where, error: countError(names.length, fields, fields.join(','), ',') };
      continue;
    }
    yield { where, record: zip(names, fields) };
  }
}

export async function* jsonlRecords(path: string): AsyncGenerator<RawRecord> {
  for await (const item of readJsonLines(path)) {
    const where = `${path}:line ${item.lineNo}`;
    if ('error' in item) yield { where, error: item.error };
    else if (item.value === null || typeof item.value !== 'object' || Array.isArray(item.value)) {
      yield { where, error: 'expected a JSON object' };
    } else yield { where, record: item.value as Record<string, unknown> };
  }
}

export async function* parquetRecords(path: string, required: string[]): AsyncGenerator<RawRecord> {
  const columns = await parquetColumns(path);
  for (const c of required) {
    if (!columns.includes(c)) throw new InputError(path, `no column "${c}" (columns: ${columns.join(', ')})`);
  }
  for await (const item of readParquetRows(path)) {
    const where = `${path}:row ${item.rowNo}`;
    if ('error' in item) yield { where, error: item.error };
    else yield { where, record: item.record };
  }
}

/**
 * RedCaps annotations: the released `{ "info": {...}, "annotations": [ { image_id, url, caption, … } ] }`, or the
 * bare list of annotations that the paper's `shuffle_annotations.py` writes.
 */
export async function* redcapsRecords(path: string): AsyncGenerator<RawRecord> {
  let doc: unknown;
  try {
    doc = JSON.parse(await fsp.readFile(path, 'utf8'));
  } catch (e) {
    throw new InputError(path, `not a readable RedCaps annotation JSON: ${(e as Error).message}`);
  }
  const anns = Array.isArray(doc) ? doc : (doc as { annotations?: unknown } | null)?.annotations;
  if (!Array.isArray(anns)) throw new InputError(path, 'neither a list of annotations nor an object with an "annotations" list (expected a RedCaps annotation file)');
  for (let i = 0; i < anns.length; i++) {
    const where = `${path}:annotation ${i + 1}`;
    const a: unknown = anns[i];
    if (a === null || typeof a !== 'object' || Array.isArray(a)) yield { where, error: 'annotation is not an object' };
    else yield { where, record: a as Record<string, unknown> };
  }
}

/** Scalar value of a record field as a trimmed string ('' when absent or null). */
export function str(record: Record<string, unknown>, name: string | undefined): string {
  if (name === undefined) return '';
  const v = record[name];
  if (v === null || v === undefined) return '';
  if (typeof v === 'string') return v.trim();
  if (typeof v === 'number' || typeof v === 'bigint' || typeof v === 'boolean') return String(v);
  return JSON.stringify(v);
}

/** `name` if the record set has it, else a case-insensitive match, else undefined. */
export function findColumn(columns: Iterable<string>, name: string): string | undefined {
  const all = [...columns];
  return all.find((c) => c === name) ?? all.find((c) => c.toLowerCase() === name.toLowerCase());
}

/** JSON-safe copy of a value for sample metadata (bigint → number or string, dates → ISO). */
export function jsonSafe(v: unknown): unknown {
  if (typeof v === 'bigint') return Number.isSafeInteger(Number(v)) ? Number(v) : v.toString();
  if (v instanceof Date) return v.toISOString();
  if (v instanceof Uint8Array) return undefined;
  if (Array.isArray(v)) return v.map(jsonSafe);
  if (v && typeof v === 'object') {
    const o: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) o[k] = jsonSafe(x);
    return o;
  }
  return v;
}
