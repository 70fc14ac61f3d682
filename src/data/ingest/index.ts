// Public face of data/ingest: web-source metadata adapters and the resumable downloader into shards.
export { ingest, checkInputs, countChunks, recordRunConfig, INGEST_DEFAULTS, OVERALL_STATS, CLIPLAB_DIR, type IngestOptions, type Inputs } from './ingest.js';
export { assembleStats, doneStats } from './out-dir.js';
export { readRowLogs, type LoggedRow, type RowRecord, type RowStatus } from './row-log.js';
export { readSource, listMetadataFiles, cleanYfccText, YFCC_COLUMNS, WIT_COLUMNS } from './sources.js';
export { fetchImage, parseRetryAfter, type FetchOptions, type FetchResult } from './fetcher.js';
export { checkUrl, isBlockedAddress, guardedLookup, RefusedError } from './address-policy.js';
export { acceptableContentType, sniffImageFormat, resizeToJpeg } from './image-check.js';
export { allRefusedHint, type ShardStats, type OverallStats } from './stats.js';
export { SOURCES, type SourceName, type BadRowPolicy, type RowEvent, type MetadataRow, type AdapterOptions } from './types.js';
export { ingestProcesses } from './processes.js';
export { chunkKind, parseChunkShare, INGEST_OPTIONS, type ChunkShare } from './options.js';
