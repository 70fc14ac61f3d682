// `cliplab ingest`: download a web source's published metadata into resumable WebDataset shards with stats.
import { join } from 'node:path';
import type { Command } from 'commander';
import { InputError } from '../../util/errors.js';
import { info } from '../../util/log.js';
import { allRefusedHint, ingest, ingestProcesses, INGEST_DEFAULTS, OVERALL_STATS, parseChunkShare, SOURCES, type IngestOptions, type SourceName } from '../../data/ingest/index.js';
import { numFlag } from '../args.js';

function int(flag: string, min: number) {
  return (v: string): number => {
    if (!/^\d+$/.test(v.trim()) || Number(v) < min) throw new InputError(flag, `must be an integer ≥ ${min}, got "${v}"`);
    return Number(v);
  };
}

interface IngestFlags {
  source: string;
  metadata: string;
  out: string;
  urlCol?: string;
  captionCol?: string;
  minSimilarity?: string;
  maxPunsafe?: string;
  concurrency: number;
  timeoutMs: number;
  retries: number;
  imageSize: number;
  shardSize: number;
  allowPrivateHosts?: boolean;
  onBadRow: string;
  processes?: number;
  chunk?: string;
  json?: boolean;
}

export function register(program: Command): void {
  const d = INGEST_DEFAULTS;
  program
    .command('ingest')
    .description('download a web source (its published metadata) into resumable shards with per-shard and overall stats.json')
    .requiredOption('--source <name>', `metadata format: ${SOURCES.join('|')}`)
    .requiredOption('--metadata <file>', 'metadata file, or a directory of them (read in name order)')
    .requiredOption('--out <dir>', 'output directory for shards and stats (rerun to resume)')
    .option('--url-col <name>', 'column holding the image URL (default: the source’s)')
    .option('--caption-col <name>', 'column holding the caption (default: the source’s); wit: columns tried in order, a,b,…')
    .option('--min-similarity <x>', 'laion: keep rows whose similarity (LAION’s CLIP score) is at least x')
    .option('--max-punsafe <p>', 'laion-2B: keep rows whose punsafe is at most p')
    .option('--concurrency <n>', 'downloads in flight', int('--concurrency', 1), d.concurrency)
    .option('--timeout-ms <ms>', 'per-attempt timeout (connect, headers and body)', int('--timeout-ms', 1), d.timeoutMs)
    .option('--retries <n>', 'retries on 429/5xx/timeouts/resets (never on other 4xx)', int('--retries', 0), d.retries)
    .option('--image-size <n>', 'longest side after resizing (aspect kept, never enlarged)', int('--image-size', 1), d.imageSize)
    .option('--shard-size <n>', 'metadata rows per input chunk = per output shard', int('--shard-size', 1), d.shardSize)
    .option('--allow-private-hosts', 'allow loopback/private/link-local addresses (tests, intranets)')
    .option('--on-bad-row <policy>', 'skip|fail on a malformed metadata row', 'skip')
    .option('--processes <n>', 'worker processes on this machine, each taking every n-th chunk', int('--processes', 1))
    .option('--chunk <i/n>', 'take only chunks c with c mod n = i (one job of a cluster array); the last job to finish writes the overall stats')
    .option('--json', 'print the overall stats as JSON on stdout')
    .action(async (flags: IngestFlags) => {
      if (!(SOURCES as readonly string[]).includes(flags.source)) {
        throw new InputError('--source', `unknown source "${flags.source}" (one of ${SOURCES.join(', ')})`);
      }
      if (flags.onBadRow !== 'skip' && flags.onBadRow !== 'fail') {
        throw new InputError('--on-bad-row', `must be skip or fail, got "${flags.onBadRow}"`);
      }
      const opts: IngestOptions = {
        source: flags.source as SourceName,
        metadata: flags.metadata,
        out: flags.out,
        urlCol: flags.urlCol,
        captionCol: flags.captionCol,
        minSimilarity: flags.minSimilarity === undefined ? undefined : numFlag('--min-similarity', flags.minSimilarity, 0),
        maxPunsafe: flags.maxPunsafe === undefined ? undefined : numFlag('--max-punsafe', flags.maxPunsafe, 0),
        concurrency: flags.concurrency,
        timeoutMs: flags.timeoutMs,
        retries: flags.retries,
        imageSize: flags.imageSize,
        shardSize: flags.shardSize,
        allowPrivateHosts: flags.allowPrivateHosts ?? false,
        onBadRow: flags.onBadRow,
        chunk: flags.chunk === undefined ? undefined : parseChunkShare(flags.chunk),
      };
      const stats = flags.processes !== undefined && flags.processes > 1 ? await ingestProcesses(opts, flags.processes) : await ingest(opts);
      if (stats.pending_shards) {
        process.stdout.write(`chunk ${flags.chunk}: ${stats.shards} shards done in ${flags.out}; ${stats.pending_shards} shards of other chunks still missing (the job that finishes last writes ${OVERALL_STATS})\n`);
        return;
      }
      if (flags.json) process.stdout.write(JSON.stringify(stats, null, 2) + '\n');
      else
        process.stdout.write(
        `ingested ${stats.successes} of ${stats.count} rows into ${stats.shards} shards in ${flags.out} ` +
          `(failed_to_download ${stats.failed_to_download}, failed_to_resize ${stats.failed_to_resize}, ` +
          `filtered ${stats.filtered}, bad rows ${stats.bad_rows}; ${stats.shards_skipped} shards already done)\n`,
        );
      const hint = allRefusedHint(stats);
      if (hint) throw new InputError(flags.metadata, `${hint}; stats in ${join(flags.out, OVERALL_STATS)}`);
      if (flags.json) return;
      if (stats.refused > 0) info(`${stats.refused} URLs were refused by the address policy (see status_dict; --allow-private-hosts)`);
      if (stats.successes < stats.count) info(`which rows failed and why: cliplab ingest-failures ${flags.out}`);
    });
}
