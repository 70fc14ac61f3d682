// `cliplab ingest … --executor slurm --jobs N`: the input's chunks as N Slurm jobs, each running this same
// ingest with `--chunk I/N` into the same --out, through the study's Slurm executor (sbatch, squeue and
// scontrol/sacct, scancel). It lives at the CLI layer because ingest (a data pipeline) may not import study.
// This process counts the chunks, submits the shares not yet done (adopting those an interrupted run left
// queued or running), retries a failed share by the study's rule, cancels every job on SIGINT/SIGTERM, and
// assembles stats.json from the per-shard stats once every share is done. Shards written by a job are kept
// whatever happens to this process: a rerun redoes only what is missing.
import { basename, join, resolve } from 'node:path';
import {
  CLIPLAB_DIR, INGEST_OPTIONS, assembleStats, checkInputs, countChunks, doneStats, recordRunConfig, type IngestOptions, type Inputs, type OverallStats,
} from '../../data/ingest/index.js';
import type { ExecRequest, ExecResult } from '../../study/executor.js';
import { type SlurmOptions, slurmJobSettings } from '../../study/options.js';
import { DEFAULT_RETRIES, failureMessage } from '../../study/scheduler.js';
import { SlurmExecutor } from '../../study/slurm-executor.js';
import { FINAL_STATES, cancel, jobsNamed } from '../../study/slurm.js';
import { withDirLock } from '../../util/dir-lock.js';
import { CliplabError } from '../../util/errors.js';
import { info } from '../../util/log.js';
import { flagName } from '../../util/options.js';

/**
 * The command line every job runs, minus `--chunk`: the run's ingest flags as given, with --metadata and --out
 * made absolute (jobs run from --out, on other machines sharing the file system).
 */
function shareArgs(opts: IngestOptions, out: string): string[] {
  const args = ['ingest'];
  const values: Record<string, unknown> = { ...opts, metadata: resolve(opts.metadata), out };
  for (const [key, def] of Object.entries(INGEST_OPTIONS)) {
    const v = values[key];
    if (key === 'chunk' || v === undefined || v === false) continue;
    args.push(flagName(def));
    if (v !== true) args.push(String(v));
  }
  return args;
}

/** Runs `opts` as `jobs` Slurm jobs and returns the overall stats it wrote; throws naming each share that failed. */
export async function ingestOnSlurm(opts: IngestOptions, jobs: number, flags: SlurmOptions): Promise<OverallStats> {
  const settings = slurmJobSettings(flags);
  // Options, metadata and Slurm are checked here, once, so a mistake is one error and not N failed jobs.
  const inputs = await checkInputs(opts);
  await SlurmExecutor.check();
  const out = inputs.out;
  const scripts = join(out, CLIPLAB_DIR, 'slurm');
  // The driver holds its own directory, not --out: a `--chunk 0/1` job (--jobs 1) takes --out itself.
  return withDirLock(scripts, 'ingest --executor slurm', async () => {
    await recordRunConfig(opts, inputs);
    const controller = new AbortController();
    const { signal } = controller;
    const stop = (): void => {
      if (!signal.aborted) info('interrupted: cancelling the Slurm jobs (finished shards are kept; rerun the same command to resume)');
      controller.abort();
    };
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
    try {
      return await drive(opts, jobs, inputs, signal, new SlurmExecutor({
        study: basename(out),
        workDir: out,
        scriptDir: scripts,
        cliplab: flags.cliplab ?? 'cliplab',
        settings: () => settings,
      }));
    } finally {
      process.removeListener('SIGINT', stop);
      process.removeListener('SIGTERM', stop);
    }
  });
}

async function drive(opts: IngestOptions, jobs: number, inputs: Inputs, signal: AbortSignal, executor: SlurmExecutor): Promise<OverallStats> {
  const t0 = Date.now();
  const { out, files } = inputs;
  const chunks = await countChunks(opts, inputs, signal).catch((e: unknown) => {
    throw signal.aborted ? new CliplabError('ingest interrupted before any Slurm job was submitted') : e;
  });
  const doneBefore = new Set<number>();
  for (let c = 0; c < chunks; c++) if (await doneStats(out, c)) doneBefore.add(c);
  // A share whose chunks are all done (or that has none: more jobs than chunks) is not submitted.
  const shares = Array.from({ length: jobs }, (_, i) => i).filter((i) => {
    for (let c = i; c < chunks; c += jobs) if (!doneBefore.has(c)) return true;
    return false;
  });
  let finished = jobs - shares.length;
  info(`ingest: ${chunks} chunks as ${jobs} Slurm jobs (${finished} found complete) → ${out}`);
  const args = shareArgs(opts, out);

  /** One share to completion: adopted or submitted, retried while the rule allows; its error, or null. */
  const runShare = async (i: number): Promise<string | null> => {
    const share = `chunk ${i}/${jobs}`;
    const tag = (): string => `[${finished}/${jobs}]`;
    const jobId = `ingest/chunk-${i}-of-${jobs}`;
    const req: ExecRequest = { jobId, args: [...args, '--chunk', `${i}/${jobs}`], logFile: join(out, CLIPLAB_DIR, 'logs', `chunk-${i}-of-${jobs}.log`) };
    // A job an interrupted run submitted and Slurm still runs is waited on: a second one for the same share
    // would only meet its lock and fail.
    const live = (await jobsNamed(executor.jobName(jobId)).catch(() => [])).find((s) => !FINAL_STATES.has(s.state) && (s.workDir === undefined || s.workDir === out));
    let res: ExecResult | null = null;
    if (live) {
      info(`${tag()} waiting on ${share} (slurm:${live.id}, started by an interrupted run)`);
      res = await executor.attach(`slurm:${live.id}`, req);
    }
    for (let failures = 0; ; ) {
      if (res === null) {
        if (signal.aborted) return null;
        info(`${tag()} start ${share}${failures > 0 ? ` (attempt ${failures + 1})` : ''}`);
        // A job whose sbatch returns after Ctrl-C is not yet among those cancelAll stops: cancel it here.
        res = await executor.run(req, { onHandle: (h) => signal.aborted && void cancel([h.replace(/^slurm:/, '')]) });
      }
      if (signal.aborted) return null;
      if (res.code === 0) {
        finished++;
        info(`${tag()} done ${share} (${res.seconds.toFixed(1)} s)`);
        return null;
      }
      const error = failureMessage(res, req.logFile);
      const willRetry = ++failures <= DEFAULT_RETRIES;
      info(`${tag()} FAILED ${share}: ${error}${willRetry ? ' — retrying' : ''}`);
      if (!willRetry) return `${share}: ${error}`;
      res = null;
    }
  };

  const all = Promise.all(shares.map(runShare));
  await Promise.race([all, new Promise<void>((r) => (signal.aborted ? r() : signal.addEventListener('abort', () => r(), { once: true })))]);
  if (signal.aborted) {
    await executor.cancelAll();
    await all;
    throw new CliplabError(`ingest interrupted with ${finished}/${jobs} Slurm jobs done; their shards are kept: rerun the same command to resume`);
  }
  const failed = (await all).filter((e): e is string => e !== null);
  if (failed.length > 0)
    throw new CliplabError(`${failed.length} of ${jobs} Slurm jobs failed (${failed.join('; ')}); finished shards are kept: rerun the same command to redo the rest`);
  let rowsThisRun = 0;
  for (let c = 0; c < chunks; c++) if (!doneBefore.has(c)) rowsThisRun += (await doneStats(out, c))?.count ?? 0;
  const timing = { source: opts.source, metadata: files, shardsSkipped: doneBefore.size, durationS: (Date.now() - t0) / 1000, rowsThisRun };
  const { overall, missing } = await assembleStats(out, chunks, timing);
  if (!overall) throw new CliplabError(`${out}: ${missing} shards missing after every Slurm job finished (was another ingest writing here?)`);
  return overall;
}
