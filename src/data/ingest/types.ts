// The vocabulary shared by the ingest adapters and the downloader: sources, metadata rows and row events.

export const SOURCES = ['laion', 'yfcc', 'cc12m', 'wit', 'redcaps', 'shutterstock', 'generic'] as const;
export type SourceName = (typeof SOURCES)[number];

export type BadRowPolicy = 'skip' | 'fail';

/** One image-text pair as a source's metadata describes it. */
export interface MetadataRow {
  url: string;
  caption: string;
  /** The source's own identifier (sample id, photo id, image_id) or the row number when it has none. */
  id: string;
  /** Source-specific fields kept in the sample's `.json` (LAION similarity and NSFW, WIT language, …). */
  extra: Record<string, unknown>;
}

/**
 * What an adapter yields for each data row, in file order. Every data row yields exactly one event, so
 * the global event index is a stable row index (keys and shard boundaries derive from it).
 * `where` names the file and row for reports (`meta.tsv:line 7`, `part-0.parquet:row 12`).
 */
export type RowEvent =
  | { kind: 'row'; where: string; row: MetadataRow }
  | { kind: 'filtered'; where: string; reason: string }
  | { kind: 'bad'; where: string; reason: string };

/** Options every adapter understands; defaults are the source's own (and the paper's) choices. */
export interface AdapterOptions {
  /** Column holding the image URL (overrides the source's default). */
  urlCol?: string;
  /** Column holding the caption (overrides the source's default); WIT: a comma-separated list tried in order. */
  captionCol?: string;
  /** LAION: keep rows whose `similarity` (LAION's CLIP score) is at least this; rows without one are filtered. */
  minSimilarity?: number;
  /** LAION-2B: keep rows whose `punsafe` is at most this; rows without one are filtered. */
  maxPunsafe?: number;
  /** LAION: NSFW tags to keep; default ['UNLIKELY']; 'all' keeps every row. */
  laionNsfwKeep?: string[] | 'all';
  /** WIT: language to keep; default 'en'; 'all' keeps every language. */
  witLanguage?: string | 'all';
}
