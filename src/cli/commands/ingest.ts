// `cliplab ingest`: download a web source's published metadata into resumable WebDataset shards with stats.
import { join } from 'node:path';
import type { Command } from 'commander';
import { InputError } from '../../util/errors.js';
import { info } from '../../util/log.js';
import { allRefusedHint, ingest, ingestProcesses, INGEST_OPTIONS, OVERALL_STATS, type IngestOptions } from '../../data/ingest/index.js';
import { intFlag } from '../args.js';
import { addOptions, optionsFromFlags } from '../options.js';

/** Flags of the command alone (not library options): how many processes, and how to print. */
interface CommandFlags {
  processes?: string;
  json?: boolean;
}

export function register(program: Command): void {
  const cmd = program
    .command('ingest')
    .description('download a web source (its published metadata) into resumable shards with per-shard and overall stats.json');
  addOptions(cmd, INGEST_OPTIONS)
    .option('--processes <n>', 'worker processes on this machine, each taking every n-th chunk')
    .option('--json', 'print the overall stats as JSON on stdout')
    .action(async (flags: CommandFlags & Record<string, unknown>) => {
      const o = optionsFromFlags(INGEST_OPTIONS, flags);
      const opts: IngestOptions = { ...o, source: o.source!, metadata: o.metadata!, out: o.out! };
      const processes = flags.processes === undefined ? 1 : intFlag('--processes', flags.processes, 1, 1);
      const stats = processes > 1 ? await ingestProcesses(opts, processes) : await ingest(opts);
      if (stats.pending_shards) {
        process.stdout.write(`chunk ${flags.chunk as string}: ${stats.shards} shards done in ${opts.out}; ${stats.pending_shards} shards of other chunks still missing (the job that finishes last writes ${OVERALL_STATS})\n`);
        return;
      }
      if (flags.json) process.stdout.write(JSON.stringify(stats, null, 2) + '\n');
      else
        process.stdout.write(
        `ingested ${stats.successes} of ${stats.count} rows into ${stats.shards} shards in ${opts.out} ` +
          `(failed_to_download ${stats.failed_to_download}, failed_to_resize ${stats.failed_to_resize}, ` +
          `filtered ${stats.filtered}, bad rows ${stats.bad_rows}; ${stats.shards_skipped} shards already done)\n`,
        );
      const hint = allRefusedHint(stats);
      if (hint) throw new InputError(opts.metadata, `${hint}; stats in ${join(opts.out, OVERALL_STATS)}`);
      if (flags.json) return;
      if (stats.refused > 0) info(`${stats.refused} URLs were refused by the address policy (see status_dict; --allow-private-hosts)`);
      if (stats.successes < stats.count) info(`which rows failed and why: cliplab ingest-failures ${opts.out}`);
    });
}
