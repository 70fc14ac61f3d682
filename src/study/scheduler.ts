// Runs the job graph in dependency order on an executor, with every state transition stored: adopt outputs
// found complete, claim, run, commit, mark done/failed. Failed jobs block their dependents, not the rest.
import type { ExecRequest, ExecResult, Executor } from './executor.js';
import { type JobContext, type JobWork, jobWork } from './jobs.js';
import type { JobDefinition, JobRecord, StudyStore } from './store.js';

export type StudyEvent =
  | { type: 'start'; job: JobRecord; attempt: number }
  | { type: 'done'; job: JobRecord; seconds: number; adopted: boolean }
  | { type: 'failed'; job: JobRecord; error: string; willRetry: boolean }
  | { type: 'blocked'; job: JobRecord; by: string }
  | { type: 'attached'; job: JobRecord; handle: string };

export interface ScheduleOptions {
  store: StudyStore;
  executor: Executor;
  ctx: JobContext;
  jobs: JobDefinition[];
  signal?: AbortSignal;
  /** Extra attempts per job within this run after a failure (default 1). */
  retries?: number;
  onEvent?: (e: StudyEvent) => void;
}

export interface ScheduleResult {
  ran: string[];
  adopted: string[];
  failed: { id: string; error: string }[];
  blocked: string[];
  interrupted: boolean;
}

/** How many jobs (transitively) wait on each job: the scheduler starts the most depended-on first. */
function dependentCounts(jobs: JobDefinition[]): Map<string, number> {
  const children = new Map<string, string[]>();
  for (const j of jobs) for (const d of j.deps) children.set(d, [...(children.get(d) ?? []), j.id]);
  const memo = new Map<string, Set<string>>();
  const below = (id: string): Set<string> => {
    const m = memo.get(id);
    if (m) return m;
    const s = new Set<string>();
    for (const c of children.get(id) ?? []) {
      s.add(c);
      for (const x of below(c)) s.add(x);
    }
    memo.set(id, s);
    return s;
  };
  return new Map(jobs.map((j) => [j.id, below(j.id).size]));
}

export async function runSchedule(o: ScheduleOptions): Promise<ScheduleResult> {
  const { store, executor, ctx, signal } = o;
  const retries = o.retries ?? 1;
  const order = new Map(o.jobs.map((j, i) => [j.id, i]));
  const weight = dependentCounts(o.jobs);
  const ids = o.jobs.map((j) => j.id);
  const result: ScheduleResult = { ran: [], adopted: [], failed: [], blocked: [], interrupted: false };
  const failures = new Map<string, number>();
  const gaveUp = new Set<string>();
  const running = new Map<string, Promise<void>>();
  const emit = (e: StudyEvent): void => o.onEvent?.(e);

  /** After the executor returned: commit and mark done, or record the failure (retried while allowed). */
  const finish = (job: JobRecord, work: JobWork, logFile: string, res: ExecResult | Error, t0: number): void => {
    if (signal?.aborted) {
      store.release(job.id, 'interrupted');
      return;
    }
    let error: string;
    if (res instanceof Error) error = res.message;
    else if (res.code === 0) {
      try {
        const outputs = work.commit();
        store.complete(job.id, outputs, res.seconds);
        result.ran.push(job.id);
        emit({ type: 'done', job: store.job(job.id)!, seconds: res.seconds, adopted: false });
        return;
      } catch (err) {
        error = (err as Error).message;
      }
    } else {
      const last = res.tail.split('\n').filter(Boolean).pop() ?? '';
      const how = res.reason ?? (res.signal ? `killed by ${res.signal}` : `exit ${res.code}`);
      error = `${how}${last ? `: ${last}` : ''} (log: ${logFile})`;
    }
    store.fail(job.id, error, (Date.now() - t0) / 1000);
    const n = (failures.get(job.id) ?? 0) + 1;
    failures.set(job.id, n);
    const willRetry = n <= retries;
    if (!willRetry) {
      gaveUp.add(job.id);
      result.failed.push({ id: job.id, error });
    }
    emit({ type: 'failed', job: store.job(job.id)!, error, willRetry });
  };

  const runOne = async (job: JobRecord): Promise<void> => {
    const work = jobWork(ctx, job);
    const found = work.complete();
    if (found) {
      store.adopt(job.id, found);
      result.adopted.push(job.id);
      emit({ type: 'done', job, seconds: 0, adopted: true });
      return;
    }
    if (!store.claim(job.id)) return;
    const claimed = store.job(job.id)!;
    emit({ type: 'start', job: claimed, attempt: claimed.attempts });
    const t0 = Date.now();
    let req: ExecRequest | null = null;
    try {
      req = work.request();
      const res = await executor.run(req, { onStart: (pid) => store.setPid(job.id, pid), onHandle: (h) => store.setHandle(job.id, h) });
      finish(job, work, req.logFile, res, t0);
    } catch (err) {
      finish(job, work, req?.logFile ?? work.log, err as Error, t0);
    }
  };

  /** A job an earlier runner left running in the executor (e.g. queued in Slurm): wait on it, not run it again. */
  const attachOne = async (job: JobRecord): Promise<void> => {
    const work = jobWork(ctx, job);
    const t0 = Date.now();
    const req: ExecRequest = { jobId: job.id, kind: job.kind, args: [], logFile: work.log };
    emit({ type: 'attached', job, handle: job.handle! });
    // A handle that cannot be checked (the scheduler does not answer) is run again rather than trusted.
    const res = await executor.attach!(job.handle!, req).catch(() => null);
    if (res === null) {
      store.release(job.id, `${job.handle} is gone; running it again`);
      return;
    }
    finish(job, work, work.log, res, t0);
  };

  if (executor.attach)
    for (const j of store.jobs())
      if (order.has(j.id) && j.state === 'running' && j.handle) running.set(j.id, attachOne(j).finally(() => running.delete(j.id)));

  const aborted = signal ? abortPromise(signal) : null;
  for (;;) {
    if (signal?.aborted) break;
    const state = new Map(store.jobs().filter((j) => order.has(j.id)).map((j) => [j.id, j]));
    const ready = ids
      .map((id) => state.get(id)!)
      .filter((j) => (j.state === 'pending' || j.state === 'failed') && !running.has(j.id) && !gaveUp.has(j.id))
      .filter((j) => j.deps.every((d) => state.get(d)?.state === 'done'))
      .sort((a, b) => weight.get(b.id)! - weight.get(a.id)! || order.get(a.id)! - order.get(b.id)!);
    for (const job of ready) {
      if (running.size >= executor.slots) break;
      const p = runOne(job).finally(() => running.delete(job.id));
      running.set(job.id, p);
    }
    if (running.size === 0) break;
    await Promise.race([...running.values(), ...(aborted ? [aborted] : [])]);
  }
  if (signal?.aborted) {
    result.interrupted = true;
    await executor.cancelAll();
    await Promise.allSettled([...running.values()]);
    for (const j of store.jobs()) if (j.state === 'running' && order.has(j.id)) store.release(j.id, 'interrupted');
  } else {
    const state = new Map(store.jobs().map((j) => [j.id, j]));
    for (const id of ids) {
      const j = state.get(id)!;
      if (j.state !== 'done' && !gaveUp.has(id)) {
        const by = j.deps.find((d) => state.get(d)?.state !== 'done') ?? '?';
        result.blocked.push(id);
        emit({ type: 'blocked', job: j, by });
      }
    }
  }
  return result;
}

function abortPromise(signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) resolve();
    else signal.addEventListener('abort', () => resolve(), { once: true });
  });
}
