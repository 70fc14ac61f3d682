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

/** Extra attempts a failed job gets within one run unless told otherwise: one, for a node or network hiccup. */
export const DEFAULT_RETRIES = 1;

export interface ScheduleOptions {
  store: StudyStore;
  executor: Executor;
  ctx: JobContext;
  jobs: JobDefinition[];
  signal?: AbortSignal;
  /** Extra attempts per job within this run after a failure (default DEFAULT_RETRIES). */
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
  const run = new Schedule(o);
  run.attachLeftovers();
  await run.loop();
  if (o.signal?.aborted) await run.interrupt();
  else run.reportBlocked();
  return run.result;
}

/** One run of the job graph: what is running, what failed how often, and the result being assembled. */
class Schedule {
  readonly result: ScheduleResult = { ran: [], adopted: [], failed: [], blocked: [], interrupted: false };
  private readonly order: Map<string, number>;
  private readonly weight: Map<string, number>;
  private readonly ids: string[];
  private readonly retries: number;
  private readonly failures = new Map<string, number>();
  private readonly gaveUp = new Set<string>();
  private readonly running = new Map<string, Promise<void>>();

  constructor(private readonly o: ScheduleOptions) {
    this.order = new Map(o.jobs.map((j, i) => [j.id, i]));
    this.weight = dependentCounts(o.jobs);
    this.ids = o.jobs.map((j) => j.id);
    this.retries = o.retries ?? DEFAULT_RETRIES;
  }

  private emit(e: StudyEvent): void {
    this.o.onEvent?.(e);
  }

  private track(id: string, p: Promise<void>): void {
    this.running.set(id, p.finally(() => this.running.delete(id)));
  }

  /** Jobs an earlier runner left running in the executor (e.g. queued in Slurm) are waited on, not rerun. */
  attachLeftovers(): void {
    if (!this.o.executor.attach) return;
    for (const j of this.o.store.jobs()) if (this.order.has(j.id) && j.state === 'running' && j.handle) this.track(j.id, this.attachOne(j));
  }

  /** Starts ready jobs (most depended-on first) while slots are free, until nothing runs or the run is aborted. */
  async loop(): Promise<void> {
    const { store, executor, signal } = this.o;
    const aborted = signal ? abortPromise(signal) : null;
    for (;;) {
      if (signal?.aborted) break;
      const state = new Map(store.jobs().filter((j) => this.order.has(j.id)).map((j) => [j.id, j]));
      const ready = this.ids
        .map((id) => state.get(id)!)
        .filter((j) => (j.state === 'pending' || j.state === 'failed') && !this.running.has(j.id) && !this.gaveUp.has(j.id))
        .filter((j) => j.deps.every((d) => state.get(d)?.state === 'done'))
        .sort((a, b) => this.weight.get(b.id)! - this.weight.get(a.id)! || this.order.get(a.id)! - this.order.get(b.id)!);
      for (const job of ready) {
        if (this.running.size >= executor.slots) break;
        this.track(job.id, this.runOne(job));
      }
      if (this.running.size === 0) break;
      await Promise.race([...this.running.values(), ...(aborted ? [aborted] : [])]);
    }
  }

  /** Ctrl-C: cancel what the executor holds, wait for it, and hand running jobs back to the store. */
  async interrupt(): Promise<void> {
    this.result.interrupted = true;
    await this.o.executor.cancelAll();
    await Promise.allSettled([...this.running.values()]);
    for (const j of this.o.store.jobs()) if (j.state === 'running' && this.order.has(j.id)) this.o.store.release(j.id, 'interrupted');
  }

  /** Jobs not done and not given up were blocked by a dependency that did not finish. */
  reportBlocked(): void {
    const state = new Map(this.o.store.jobs().map((j) => [j.id, j]));
    for (const id of this.ids) {
      const j = state.get(id)!;
      if (j.state === 'done' || this.gaveUp.has(id)) continue;
      const by = j.deps.find((d) => state.get(d)?.state !== 'done') ?? '?';
      this.result.blocked.push(id);
      this.emit({ type: 'blocked', job: j, by });
    }
  }

  private async runOne(job: JobRecord): Promise<void> {
    const { store, executor, ctx } = this.o;
    const work = jobWork(ctx, job);
    const found = work.complete();
    if (found) {
      store.adopt(job.id, found);
      this.result.adopted.push(job.id);
      this.emit({ type: 'done', job, seconds: 0, adopted: true });
      return;
    }
    if (!store.claim(job.id)) return;
    const claimed = store.job(job.id)!;
    this.emit({ type: 'start', job: claimed, attempt: claimed.attempts });
    const t0 = Date.now();
    let req: ExecRequest | null = null;
    try {
      req = work.request();
      const res = await executor.run(req, { onStart: (pid) => store.setPid(job.id, pid), onHandle: (h) => store.setHandle(job.id, h) });
      this.finish(job, work, req.logFile, res, t0);
    } catch (err) {
      this.finish(job, work, req?.logFile ?? work.log, err as Error, t0);
    }
  }

  private async attachOne(job: JobRecord): Promise<void> {
    const work = jobWork(this.o.ctx, job);
    const t0 = Date.now();
    const req: ExecRequest = { jobId: job.id, kind: job.kind, args: [], logFile: work.log };
    this.emit({ type: 'attached', job, handle: job.handle! });
    // A handle that cannot be checked (the scheduler does not answer) is run again rather than trusted.
    const res = await this.o.executor.attach!(job.handle!, req).catch(() => null);
    if (res === null) {
      this.o.store.release(job.id, `${job.handle} is gone; running it again`);
      return;
    }
    this.finish(job, work, work.log, res, t0);
  }

  /** After the executor returned: commit and mark done, or record the failure (retried while allowed). */
  private finish(job: JobRecord, work: JobWork, logFile: string, res: ExecResult | Error, t0: number): void {
    const { store, signal } = this.o;
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
        this.result.ran.push(job.id);
        this.emit({ type: 'done', job: store.job(job.id)!, seconds: res.seconds, adopted: false });
        return;
      } catch (err) {
        error = (err as Error).message;
      }
    } else error = failureMessage(res, logFile);
    store.fail(job.id, error, (Date.now() - t0) / 1000);
    const n = (this.failures.get(job.id) ?? 0) + 1;
    this.failures.set(job.id, n);
    const willRetry = n <= this.retries;
    if (!willRetry) {
      this.gaveUp.add(job.id);
      this.result.failed.push({ id: job.id, error });
    }
    this.emit({ type: 'failed', job: store.job(job.id)!, error, willRetry });
  }
}

/** Why a job failed, in one line: the executor's reason (or exit code / signal), the log's last line, the log. */
export function failureMessage(res: ExecResult, logFile: string): string {
  const last = res.tail.split('\n').filter(Boolean).pop() ?? '';
  const how = res.reason ?? (res.signal ? `killed by ${res.signal}` : `exit ${res.code}`);
  return `${how}${last ? `: ${last}` : ''} (log: ${logFile})`;
}

function abortPromise(signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) resolve();
    else signal.addEventListener('abort', () => resolve(), { once: true });
  });
}
