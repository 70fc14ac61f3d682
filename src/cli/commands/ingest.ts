// `cliplab ingest`: download a web source's published metadata into resumable WebDataset shards with stats.
import { join } from 'node:path';
import type { Command } from 'commander';
import { InputError } from '../../util/errors.js';
import { info } from '../../util/log.js';
import { allRefusedHint, ingest, ingestProcesses, INGEST_OPTIONS, OVERALL_STATS, type IngestOptions, type OverallStats } from '../../data/ingest/index.js';
import { intFlag } from '../args.js';
import { addOptions, optionsFromFlags } from '../options.js';
import { STUDY_OPTIONS, SLURM_ONLY, type SlurmOptions, refuseSlurmOnly } from '../../study/options.js';
import { ingestOnSlurm } from './ingest-slurm.js';

/**
 * `--executor`, `--jobs` and the Slurm resource flags: the study's definitions (same names, checks and
 * messages), with the help saying what they mean here.
 */
const SLURM_OPTIONS = {
  executor: { ...STUDY_OPTIONS.executor, help: 'where it runs: this machine (default) or --jobs Slurm jobs, each one --chunk share (see docs/ingest.md)' },
  jobs: { ...STUDY_OPTIONS.jobs, help: 'slurm: how many jobs share the input' },
  ...Object.fromEntries(SLURM_ONLY.map((k) => [k, STUDY_OPTIONS[k]])),
} as Pick<typeof STUDY_OPTIONS, 'executor' | 'jobs' | (typeof SLURM_ONLY)[number]>;

/** Flags of the command alone (not library options): how many processes, and how to print. */
interface CommandFlags {
  processes?: string;
  json?: boolean;
}

/** Where the run goes: this process, `--processes` workers here, or `--jobs` Slurm jobs. */
function runIngest(opts: IngestOptions, flags: CommandFlags, slurm: SlurmOptions & { jobs?: number }): Promise<OverallStats> {
  if ((slurm.executor ?? 'local') === 'local') {
    refuseSlurmOnly(slurm);
    if (slurm.jobs !== undefined) throw new InputError('--jobs', 'applies only with --executor slurm (on this machine, use --processes)');
    const processes = flags.processes === undefined ? 1 : intFlag('--processes', flags.processes, 1, 1);
    return processes > 1 ? ingestProcesses(opts, processes) : ingest(opts);
  }
  if (slurm.jobs === undefined) throw new InputError('--jobs', 'required with --executor slurm (how many Slurm jobs share the input)');
  if (flags.processes !== undefined) throw new InputError('--processes', 'cannot be combined with --executor slurm (use --jobs)');
  if (opts.chunk) throw new InputError('--chunk', 'cannot be combined with --executor slurm (each of its jobs runs one --chunk share)');
  return ingestOnSlurm(opts, slurm.jobs, slurm);
}

export function register(program: Command): void {
  const cmd = program
    .command('ingest')
    .description('download a web source (its published metadata) into resumable shards with per-shard and overall stats.json');
  addOptions(cmd, INGEST_OPTIONS)
    .option('--processes <n>', 'worker processes on this machine, each taking every n-th chunk');
  addOptions(cmd, SLURM_OPTIONS)
    .option('--json', 'print the overall stats as JSON on stdout')
    .action(async (flags: CommandFlags & Record<string, unknown>) => {
      const o = optionsFromFlags(INGEST_OPTIONS, flags);
      const opts: IngestOptions = { ...o, source: o.source!, metadata: o.metadata!, out: o.out! };
      const stats = await runIngest(opts, flags, optionsFromFlags(SLURM_OPTIONS, flags));
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
