// `ingest --processes N`: N child processes each take a share of the input's chunks (chunk c goes to
// process c mod N) and write their shards into the same --out; this process reports their progress and
// assembles stats.json once all have finished. A process that dies loses only its unfinished shards.
import { fork, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { CliplabError, InputError } from '../../util/errors.js';
import { progress as makeProgress } from '../../util/progress.js';
import { withDirLock } from '../../util/dir-lock.js';
import { checkInputs, prepareOut } from './ingest.js';
import type { IngestOptions } from './options.js';
import { assembleStats } from './out-dir.js';
import type { OverallStats, ShardStats } from './stats.js';

/** What a worker process sends back. */
export type WorkerMessage =
  | { type: 'progress'; rows: number }
  | { type: 'shard'; stats: ShardStats }
  | { type: 'done'; rows: number; chunks: number; skipped: number }
  | { type: 'error'; message: string; what?: string };

/** The options a worker gets: everything but callbacks and the signal (not serializable). */
export type WorkerOptions = Omit<IngestOptions, 'signal' | 'onShardDone' | 'onRow' | 'progress'>;

/** The worker's entry: compiled `process-worker.js` beside this file, or its `.ts` source run through tsx. */
function workerEntry(): { file: string; execArgv: string[] } {
  const js = fileURLToPath(new URL('./process-worker.js', import.meta.url));
  if (import.meta.url.endsWith('.js') && existsSync(js)) return { file: js, execArgv: [] };
  const tsx = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;
  return { file: fileURLToPath(new URL('./process-worker.ts', import.meta.url)), execArgv: ['--import', tsx] };
}

interface Outcome {
  index: number;
  rows: number;
  chunks: number;
  skipped: number;
  error: Error | null;
}

function runWorker(child: ChildProcess, index: number, n: number, onMessage: (m: WorkerMessage) => void): Promise<Outcome> {
  return new Promise((resolve) => {
    let result: Outcome = { index, rows: 0, chunks: 0, skipped: 0, error: null };
    let reported: Error | null = null;
    child.on('message', (m: WorkerMessage) => {
      if (m.type === 'done') result = { index, rows: m.rows, chunks: m.chunks, skipped: m.skipped, error: null };
      else if (m.type === 'error') reported = m.what ? new InputError(m.what, m.message) : new CliplabError(m.message);
      else onMessage(m);
    });
    child.on('exit', (code, signal) => {
      if (code === 0 && !reported) return resolve(result);
      const why = signal ? `was killed by ${signal}` : `exited with code ${code}`;
      resolve({ ...result, error: reported ?? new CliplabError(`ingest worker ${index}/${n} ${why}; its finished shards are kept: rerun the same command to finish the rest`) });
    });
  });
}

/** Ingests with `processes` worker processes; the same outputs and stats as one process would write. */
export async function ingestProcesses(opts: IngestOptions, processes: number, hooks: { onWorkerStart?: (index: number, pid: number) => void } = {}): Promise<OverallStats> {
  if (!Number.isInteger(processes) || processes < 1) throw new InputError('--processes', `must be an integer ≥ 1, got ${processes}`);
  if (opts.chunk) throw new InputError('--processes', 'cannot be combined with --chunk (each job of a cluster array runs one --chunk)');
  // Checks the options and the run config once, here, so that a bad flag gives one error, not N; this
  // process holds --out for its workers.
  const inputs = await checkInputs(opts);
  return withDirLock(inputs.out, 'ingest', async () => {
    await prepareOut(opts, inputs);
    return runWorkers(opts, processes, inputs.files, inputs.out, hooks);
  });
}

async function runWorkers(opts: IngestOptions, processes: number, files: string[], out: string, hooks: { onWorkerStart?: (index: number, pid: number) => void }): Promise<OverallStats> {
  const { signal, onShardDone, onRow, progress, ...rest } = opts;
  const entry = workerEntry();
  const bar = progress === false ? null : makeProgress('ingest', 0, 'images');
  const t0 = Date.now();
  const children = Array.from({ length: processes }, () => fork(entry.file, [], { execArgv: entry.execArgv, stdio: ['ignore', 'ignore', 'inherit', 'ipc'] }));
  const onAbort = () => children.forEach((c) => c.connected && c.send({ type: 'abort' }));
  signal?.addEventListener('abort', onAbort, { once: true });
  let outcomes: Outcome[];
  try {
    outcomes = await Promise.all(
      children.map((child, i) => {
        const done = runWorker(child, i, processes, (m) => {
          if (m.type === 'progress') {
            bar?.tick(m.rows);
            for (let k = 0; k < m.rows; k++) onRow?.();
          } else if (m.type === 'shard') onShardDone?.(m.stats);
        });
        const options: WorkerOptions = { ...rest, chunk: { index: i, count: processes } };
        child.send({ type: 'start', options });
        hooks.onWorkerStart?.(i, child.pid!);
        return done;
      }),
    );
  } finally {
    bar?.stop();
    signal?.removeEventListener('abort', onAbort);
  }
  if (signal?.aborted) throw signal.reason ?? new Error('aborted');
  const failed = outcomes.find((o) => o.error);
  if (failed) throw failed.error;
  const sum = (f: (o: Outcome) => number) => outcomes.reduce((a, o) => a + f(o), 0);
  const timing = { source: opts.source, metadata: files, shardsSkipped: sum((o) => o.skipped), durationS: (Date.now() - t0) / 1000, rowsThisRun: sum((o) => o.rows) };
  const { overall, missing } = await assembleStats(out, outcomes[0]!.chunks, timing);
  if (!overall) throw new CliplabError(`${out}: ${missing} shards missing after every worker finished (was another ingest writing here?)`);
  return overall;
}
