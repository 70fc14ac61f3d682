// The metadata adapters: each web source's metadata, as its authors and the paper released it, mapped to (url,
// caption, id, extras), with the paper's choices as defaults (LAION NSFW == UNLIKELY, WIT English with its
// reference caption, YFCC photos with text) and LAION's own similarity / punsafe filters on request.
import { promises as fsp } from 'node:fs';
import { join } from 'node:path';
import { InputError } from '../../util/errors.js';
import type { AdapterOptions, MetadataRow, RowEvent, SourceName } from './types.js';
import { csvRecords, findColumn, jsonlRecords, jsonSafe, parquetRecords, redcapsRecords, str, tsvRecords, type RawRecord } from './records.js';
import { parquetColumns } from './tables.js';

/** YFCC100M metadata TSV (the AWS `yfcc100m_dataset` file, whose first three columns key OpenAI's 15M subset). */
export const YFCC_COLUMNS = [
  'line_number', 'photo_id', 'photo_hash', 'user_nsid', 'user_nickname', 'date_taken', 'date_uploaded',
  'capture_device', 'title', 'description', 'user_tags', 'machine_tags', 'longitude', 'latitude', 'accuracy',
  'page_url', 'download_url', 'license_name', 'license_url', 'server_id', 'farm_id', 'secret',
  'secret_original', 'extension_original', 'marker',
];
/** The original Yahoo Webscope release: the same without line number and hash. */
const YFCC_COLUMNS_23 = YFCC_COLUMNS.filter((c) => c !== 'line_number' && c !== 'photo_hash');
/** The paper's released 15M subset: `url<TAB>caption`, no header (its downloader reads columns 0 and 1). */
const YFCC_COLUMNS_2 = ['url', 'caption'];

/** WIT's 17 TSV columns, in file order. */
export const WIT_COLUMNS = [
  'language', 'page_url', 'image_url', 'page_title', 'section_title', 'hierarchical_section_title',
  'caption_reference_description', 'caption_attribution_description', 'caption_alt_text_description',
  'mime_type', 'original_height', 'original_width', 'is_main_image', 'attribution_passes_lang_id',
  'page_changed_recently', 'context_page_description', 'context_section_description',
];

/** File name endings each source reads when --metadata is a directory. */
const EXTENSIONS: Record<SourceName, RegExp> = {
  laion: /\.parquet$/i,
  yfcc: /\.(tsv|txt|csv)(\.gz)?$/i,
  cc12m: /\.(tsv|txt)(\.gz)?$/i,
  wit: /\.tsv(\.gz)?$/i,
  redcaps: /\.json$/i,
  shutterstock: /\.(tsv|txt)(\.gz)?$/i,
  generic: /\.(csv|tsv|jsonl|ndjson|parquet)(\.gz)?$/i,
};

/** The metadata files to read, in order: the file itself, or a directory's matching files sorted by name. */
export async function listMetadataFiles(path: string, source: SourceName): Promise<string[]> {
  let st;
  try {
    st = await fsp.stat(path);
  } catch {
    throw new InputError('--metadata', `no such file or directory: ${path}`);
  }
  if (!st.isDirectory()) return [path];
  const names = (await fsp.readdir(path)).filter((n) => !n.startsWith('.') && EXTENSIONS[source].test(n)).sort();
  if (names.length === 0) throw new InputError('--metadata', `no ${source} metadata files (${EXTENSIONS[source].source}) in ${path}`);
  return names.map((n) => join(path, n));
}

/** Decodes YFCC's URL-encoded text ('+' for space, %XX escapes), strips HTML tags and entities. */
export function cleanYfccText(s: string): string {
  let t = s.replace(/\+/g, ' ');
  try {
    t = decodeURIComponent(t);
  } catch {
    t = t.replace(/%([0-9a-f]{2})/gi, (_, h: string) => String.fromCharCode(parseInt(h, 16)));
  }
  t = t.replace(/<[^>]*>/g, ' ');
  const entities: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'", nbsp: ' ', '#39': "'" };
  t = t.replace(/&(amp|lt|gt|quot|apos|nbsp|#39);/g, (_, e: string) => entities[e]!);
  return t.replace(/\s+/g, ' ').trim();
}

function keepExtras(record: Record<string, unknown>, skip: Set<string>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(record)) {
    if (skip.has(k) || v === null || v === undefined || v === '') continue;
    const safe = jsonSafe(v);
    if (safe !== undefined) out[k] = safe;
  }
  return out;
}

type Mapper = (record: Record<string, unknown>, where: string, rowNo: number) => RowEvent;

function urlOrBad(url: string, col: string, where: string): RowEvent | null {
  return url === '' ? { kind: 'bad', where, reason: `missing URL (column "${col}")` } : null;
}

function row(where: string, r: MetadataRow): RowEvent {
  return { kind: 'row', where, row: r };
}

/** A numeric column value (parquet doubles, or numbers as text), or null when absent or not a finite number. */
function numberOf(rec: Record<string, unknown>, col: string | undefined): number | null {
  if (col === undefined) return null;
  const v = rec[col];
  const n = typeof v === 'number' ? v : typeof v === 'bigint' ? Number(v) : typeof v === 'string' && v.trim() !== '' ? Number(v) : NaN;
  return Number.isFinite(n) ? n : null;
}

/** LAION's precomputed columns a threshold needs: `similarity` (CLIP ViT-B/32 score), `punsafe` (LAION-2B). */
function laionThresholdColumns(path: string, columns: string[], opts: AdapterOptions): { simCol?: string; unsafeCol?: string } {
  const need = (name: string, flag: string): string => {
    const c = findColumn(columns, name);
    if (!c) throw new InputError(path, `no "${name}" column for ${flag} (columns: ${columns.join(', ')})`);
    return c;
  };
  return {
    simCol: opts.minSimilarity !== undefined ? need('similarity', '--min-similarity') : undefined,
    unsafeCol: opts.maxPunsafe !== undefined ? need('punsafe', '--max-punsafe') : undefined,
  };
}

function laionMapper(path: string, columns: string[], opts: AdapterOptions): Mapper {
  const urlCol = findColumn(columns, opts.urlCol ?? 'URL') ?? opts.urlCol ?? 'URL';
  const capCol = findColumn(columns, opts.captionCol ?? 'TEXT') ?? findColumn(columns, 'caption') ?? 'TEXT';
  const nsfwCol = findColumn(columns, 'NSFW');
  const keep = opts.laionNsfwKeep ?? ['UNLIKELY'];
  const idCol = findColumn(columns, 'SAMPLE_ID') ?? findColumn(columns, 'key');
  const { simCol, unsafeCol } = laionThresholdColumns(path, columns, opts);
  return (rec, where, rowNo) => {
    const url = str(rec, urlCol);
    const bad = urlOrBad(url, urlCol, where);
    if (bad) return bad;
    const nsfw = str(rec, nsfwCol);
    if (nsfwCol && keep !== 'all' && !keep.includes(nsfw)) return { kind: 'filtered', where, reason: `nsfw_${nsfw || 'missing'}` };
    if (simCol) {
      const sim = numberOf(rec, simCol);
      if (sim === null) return { kind: 'filtered', where, reason: 'similarity_missing' };
      if (sim < opts.minSimilarity!) return { kind: 'filtered', where, reason: 'low_similarity' };
    }
    if (unsafeCol) {
      const p = numberOf(rec, unsafeCol);
      if (p === null) return { kind: 'filtered', where, reason: 'punsafe_missing' };
      if (p > opts.maxPunsafe!) return { kind: 'filtered', where, reason: 'punsafe' };
    }
    const extra = keepExtras(rec, new Set([urlCol, capCol]));
    return row(where, { url, caption: str(rec, capCol), id: str(rec, idCol) || String(rowNo), extra });
  };
}

function urlCaptionMapper(opts: AdapterOptions): Mapper {
  const urlCol = opts.urlCol ?? 'url';
  const capCol = opts.captionCol ?? 'caption';
  return (rec, where, rowNo) => {
    const url = str(rec, findColumn(Object.keys(rec), urlCol));
    const bad = urlOrBad(url, urlCol, where);
    if (bad) return bad;
    const extra = keepExtras(rec, new Set([urlCol, capCol]));
    const id = str(rec, findColumn(Object.keys(rec), 'id')) || String(rowNo);
    return row(where, { url, caption: str(rec, findColumn(Object.keys(rec), capCol)), id, extra });
  };
}

const WIT_CAPTIONS = ['caption_reference_description', 'caption_alt_text_description', 'caption_attribution_description'];
const WIT_EXTRAS = ['language', 'page_url', 'page_title', 'section_title', 'mime_type', 'is_main_image', 'original_width', 'original_height', ...WIT_CAPTIONS];

/** The caption columns to try in order: `--caption-col a,b,…`, else the source's default list. */
export function captionColumns(opts: AdapterOptions, dflt: string[]): string[] {
  return opts.captionCol ? opts.captionCol.split(',').map((c) => c.trim()).filter((c) => c !== '') : dflt;
}

function witMapper(opts: AdapterOptions): Mapper {
  const urlCol = opts.urlCol ?? 'image_url';
  const language = opts.witLanguage ?? 'en';
  // The paper's WIT is the reference description alone; alt-text and attribution are opt-in fallbacks.
  const order = captionColumns(opts, ['caption_reference_description']);
  return (rec, where, rowNo) => {
    const url = str(rec, urlCol);
    const bad = urlOrBad(url, urlCol, where);
    if (bad) return bad;
    const lang = str(rec, 'language');
    if (language !== 'all' && lang !== language) return { kind: 'filtered', where, reason: `language_${lang || 'missing'}` };
    let caption = '';
    for (const c of order) {
      caption = str(rec, c);
      // Commons attribution descriptions read "English: <text>".
      if (c === 'caption_attribution_description') caption = caption.replace(/^English: /, '');
      if (caption) break;
    }
    if (!caption) return { kind: 'filtered', where, reason: 'no_caption' };
    const extra: Record<string, unknown> = {};
    for (const k of WIT_EXTRAS) if (str(rec, k) !== '') extra[k] = str(rec, k);
    return row(where, { url, caption, id: String(rowNo), extra });
  };
}

/** The paper's 2-column YFCC file: URL and caption as released (its downloader used the caption verbatim). */
function yfccPairMapper(rec: Record<string, unknown>, where: string, rowNo: number): RowEvent {
  const url = str(rec, 'url');
  const bad = urlOrBad(url, 'url (column 1)', where);
  if (bad) return bad;
  const caption = str(rec, 'caption');
  if (!caption) return { kind: 'filtered', where, reason: 'no_text' };
  return row(where, { url, caption, id: String(rowNo), extra: {} });
}

function yfccMapper(opts: AdapterOptions): Mapper {
  return (rec, where, rowNo) => {
    if (Object.keys(rec).length === 2 && 'url' in rec && 'caption' in rec) return yfccPairMapper(rec, where, rowNo);
    const urlCol = findColumn(Object.keys(rec), opts.urlCol ?? 'download_url') ?? findColumn(Object.keys(rec), 'downloadurl') ?? 'download_url';
    const url = str(rec, urlCol);
    const marker = str(rec, findColumn(Object.keys(rec), 'marker'));
    if (marker === '1') return { kind: 'filtered', where, reason: 'video' };
    const bad = urlOrBad(url, urlCol, where);
    if (bad) return bad;
    let caption: string;
    if (opts.captionCol) caption = cleanYfccText(str(rec, findColumn(Object.keys(rec), opts.captionCol)));
    else {
      const title = cleanYfccText(str(rec, findColumn(Object.keys(rec), 'title')));
      const desc = cleanYfccText(str(rec, findColumn(Object.keys(rec), 'description')));
      caption = title && desc ? `${title}${/[.!?:;]$/.test(title) ? '' : '.'} ${desc}` : title || desc;
    }
    if (!caption) return { kind: 'filtered', where, reason: 'no_text' };
    const pick = (c: string) => str(rec, findColumn(Object.keys(rec), c));
    const extra: Record<string, unknown> = {};
    for (const k of ['line_number', 'photo_hash', 'date_taken', 'page_url', 'license_name', 'license_url']) if (pick(k)) extra[k] = pick(k);
    const tags = pick('user_tags');
    if (tags) extra.user_tags = tags.split(',').map(cleanYfccText).filter(Boolean);
    return row(where, { url, caption, id: pick('photo_id') || pick('photoid'), extra });
  };
}

/** URL and caption columns plus an id: the first of `idCols` that is set, else the row number (RedCaps, generic files). */
function columnsMapper(opts: AdapterOptions, idCols: string[]): Mapper {
  const urlCol = opts.urlCol ?? 'url';
  const capCol = opts.captionCol ?? 'caption';
  return (rec, where, rowNo) => {
    const url = str(rec, urlCol);
    const bad = urlOrBad(url, urlCol, where);
    if (bad) return bad;
    const idCol = idCols.find((c) => str(rec, c) !== '');
    const extra = keepExtras(rec, new Set([urlCol, capCol, ...(idCol ? [idCol] : [])]));
    return row(where, { url, caption: str(rec, capCol), id: idCol ? str(rec, idCol) : String(rowNo), extra });
  };
}

/** The records of one file for `source`, plus the mapper that turns them into row events. */
async function openFile(path: string, source: SourceName, opts: AdapterOptions): Promise<{ records: AsyncIterable<RawRecord>; map: Mapper }> {
  const lower = path.toLowerCase().replace(/\.gz$/, '');
  switch (source) {
    case 'laion': {
      const columns = await parquetColumns(path);
      const map = laionMapper(path, columns, opts);
      const urlCol = findColumn(columns, opts.urlCol ?? 'URL');
      if (!urlCol) throw new InputError(path, `no URL column "${opts.urlCol ?? 'URL'}" (columns: ${columns.join(', ')})`);
      return { records: parquetRecords(path, []), map };
    }
    case 'cc12m':
    case 'shutterstock':
      return {
        records: tsvRecords(path, { header: 'optional', names: ['url', 'caption'], headerMarker: opts.urlCol ?? 'url' }),
        map: urlCaptionMapper(opts),
      };
    case 'wit':
      return { records: checkHeader(tsvRecords(path, { header: 'required' }), path, opts.urlCol ?? 'image_url'), map: witMapper(opts) };
    case 'redcaps':
      return { records: redcapsRecords(path), map: columnsMapper(opts, ['image_id']) };
    case 'yfcc':
      return {
        records: tsvRecords(path, {
          header: 'optional',
          headerMarker: 'download_url',
          names: YFCC_COLUMNS,
          namesByCount: { 25: YFCC_COLUMNS, 23: YFCC_COLUMNS_23, 2: YFCC_COLUMNS_2 },
          explainCount: {
            3: "this is OpenAI's subset list (line number, photo id, hash): select those lines from the yfcc100m_dataset metadata TSV and ingest that",
          },
        }),
        map: yfccMapper(opts),
      };
    case 'generic': {
      const map = columnsMapper(opts, ['id', 'key']);
      const urlCol = opts.urlCol ?? 'url';
      if (lower.endsWith('.parquet')) return { records: parquetRecords(path, [urlCol]), map };
      if (lower.endsWith('.jsonl') || lower.endsWith('.ndjson')) return { records: jsonlRecords(path), map };
      if (lower.endsWith('.csv')) return { records: checkHeader(csvRecords(path), path, urlCol), map };
      if (lower.endsWith('.tsv') || lower.endsWith('.txt')) return { records: checkHeader(tsvRecords(path, { header: 'required' }), path, urlCol), map };
      throw new InputError(path, 'generic metadata must be .csv, .tsv, .jsonl or .parquet (optionally .gz)');
    }
  }
}

/** Fails on the first record when the header lacks the URL column (names the column and the header). */
async function* checkHeader(records: AsyncIterable<RawRecord>, path: string, urlCol: string): AsyncGenerator<RawRecord> {
  let checked = false;
  for await (const r of records) {
    if (!checked && 'record' in r) {
      checked = true;
      if (!(urlCol in r.record)) throw new InputError(path, `no column "${urlCol}" in the header (columns: ${Object.keys(r.record).join(', ')})`);
    }
    yield r;
  }
}

/** Bad rows held back at the start of a file before deciding that the whole file is unreadable. */
const ALL_BAD_LOOKAHEAD = 10_000;

/** The row events of one file; a file whose rows are all bad (or whose first 10,000 are) is an InputError. */
async function* fileEvents(path: string, source: SourceName, opts: AdapterOptions): AsyncGenerator<RowEvent> {
  const { records, map } = await openFile(path, source, opts);
  const held: RowEvent[] = [];
  let usable = false;
  let rowNo = 0;
  const allBad = (what: string): InputError =>
    new InputError(path, `${what} of ${source} metadata (first: ${held[0]!.where}: ${(held[0] as { reason: string }).reason})`);
  for await (const r of records) {
    rowNo++;
    const ev = boundCaption('error' in r ? { kind: 'bad', where: r.where, reason: r.error } : map(r.record, r.where, rowNo));
    if (usable) {
      yield ev;
      continue;
    }
    held.push(ev);
    if (ev.kind !== 'bad') {
      usable = true;
      yield* held;
      held.length = 0;
    } else if (held.length >= ALL_BAD_LOOKAHEAD) throw allBad(`the first ${held.length} rows are all bad rows`);
  }
  if (held.length > 0) throw allBad(`every row (${held.length}) is a bad row`);
  if (rowNo === 0) throw new InputError(path, `no data rows: an empty ${source} metadata file`);
}

/** Longest caption kept, in UTF-8 bytes: CLIP reads 77 tokens; a longer one is a bad row, not a stored burden. */
export const MAX_CAPTION_BYTES = 64 * 1024;

function boundCaption(ev: RowEvent): RowEvent {
  if (ev.kind !== 'row') return ev;
  const n = Buffer.byteLength(ev.row.caption);
  return n <= MAX_CAPTION_BYTES ? ev : { kind: 'bad', where: ev.where, reason: `caption is ${n} bytes, over the ${MAX_CAPTION_BYTES}-byte limit` };
}

/**
 * Every data row of `files` for `source`, in order, as row events: one event per row, so the event's index
 * is the row's stable global index.
 */
export async function* readSource(files: string[], source: SourceName, opts: AdapterOptions = {}): AsyncGenerator<RowEvent> {
  for (const path of files) yield* fileEvents(path, source, opts);
}
