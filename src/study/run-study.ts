// `runStudy`: validate and plan the spec, open the results store, reap jobs a crashed run left behind, run
// the grid on an executor, then analyze (robustness.json, tables, plots) and write the HTML report.
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { analyze } from '../analysis/analyze.js';
import type { Robustness } from '../analysis/robustness-types.js';
import { writeAnalysis } from '../analysis/write-analysis.js';
import { readResults } from '../eval/result.js';
import { InputError } from '../util/errors.js';
import { writeFileAtomic, writeJsonAtomic } from '../util/fs.js';
import { lockDir } from '../util/dir-lock.js';
import { type Executor, LocalProcessExecutor, killGroup, processMatches, processesWithArg } from './executor.js';
import { findingsMarkdown, studyFindings } from '../analysis/findings.js';
import { type JobContext, jobWork, studyLayout } from './jobs.js';
import type { StudyOptions } from './options.js';
import { type StudyPlan, planStudy } from './plan.js';
import { writeSourceSamples } from './samples.js';
import { type ScheduleResult, type StudyEvent, runSchedule } from './scheduler.js';
import type { LoadedSpec } from './spec.js';
import { type JobRecord, STORE_FILE, StudyStore } from './store.js';
import { changedInput, downstream } from './stale-inputs.js';

/** jobs: at once on the local pool (default 1); threads: per job (default: the spec's train.threads, else the command's). */
export type RunStudyOptions = Pick<StudyOptions, 'jobs' | 'threads' | 'retries'> & {
  spec: LoadedSpec;
  out: string;
  /** Replaces the local pool (e.g. a queue-backed executor). */
  executor?: Executor;
  signal?: AbortSignal;
  /** Skip analysis and report (jobs only). */
  jobsOnly?: boolean;
  onEvent?: (e: StudyEvent) => void;
  onInfo?: (msg: string) => void;
};

export interface StudyOutcome {
  plan: StudyPlan;
  schedule: ScheduleResult;
  counts: Record<string, number>;
  /** Set when every job is done and the analysis ran. */
  analysis?: { robustness: Robustness; files: string[]; report: string | null; reportError?: string };
  seconds: number;
}

/** Validates the spec against the study directory without running anything (errors name the entry). */
export function validateStudy(spec: LoadedSpec, out: string): StudyPlan {
  return planStudy(spec, resolve(out));
}

/**
 * Jobs a killed runner left `running`: local subprocesses are stopped and handed back (run again); jobs the
 * executor can adopt (Slurm: by the job id in the store, or found by name) stay running for the scheduler to
 * wait on, so they are neither submitted twice nor lost.
 */
async function reapOrphans(store: StudyStore, ctx: JobContext, executor: Executor, info: (m: string) => void): Promise<void> {
  const out = ctx.layout.out;
  for (const j of store.jobs()) {
    if (j.state !== 'running') continue;
    if (j.handle) {
      if (executor.attach) continue;
      throw new InputError(out, `job ${j.id} is ${j.handle}, started by an interrupted run; rerun with the same --executor (or cancel it there)`);
    }
    if (executor.recover && j.startedAt) {
      const h = await executor.recover({ jobId: j.id, kind: j.kind, args: [], logFile: jobWork(ctx, j).log }, { at: j.startedAt, pid: j.pid }, info);
      if (h) {
        info(`job ${j.id}: found ${h}, submitted by an interrupted run`);
        store.setHandle(j.id, h);
        continue;
      }
    }
    if (j.pid !== null && processMatches(j.pid, out)) {
      info(`stopping job ${j.id} left running by an interrupted run (pid ${j.pid})`);
      await killGroup(j.pid);
    }
    // A runner killed between spawning a job and storing its pid leaves a process no pid names: find it by
    // the output directory in its command line (each job writes its own), so the rerun does not meet its lock.
    for (const pid of strayProcesses(ctx, j)) {
      info(`stopping job ${j.id} left running by an interrupted run (pid ${pid}, found by its output directory)`);
      await killGroup(pid);
    }
    store.release(j.id, 'resumed after an interrupted run');
  }
}

function strayProcesses(ctx: JobContext, j: JobRecord): number[] {
  let args: string[];
  try {
    args = jobWork(ctx, j).request().args;
  } catch {
    return [];
  }
  const at = args.indexOf('--out');
  return at >= 0 && args[at + 1] ? processesWithArg(args[at + 1]!) : [];
}

/** Finished data jobs whose source shards changed (by content) are redone, and so is everything after them. */
async function redoChangedData(store: StudyStore, ctx: JobContext, info: (m: string) => void): Promise<void> {
  const changed: string[] = [];
  for (const j of ctx.plan.jobs) {
    const rec = store.job(j.id);
    if (j.kind !== 'data' || rec?.state !== 'done') continue;
    const [, design, size] = j.id.split('/') as [string, string, string];
    const shard = await changedInput(ctx.layout.data(design, size));
    if (shard) {
      info(`job ${j.id}: source shard ${shard} changed since it was built; redoing it and what depends on it`);
      changed.push(j.id);
    }
  }
  for (const id of downstream(ctx.plan.jobs, changed)) {
    const rec = store.job(id);
    if (rec?.state !== 'done') continue;
    store.invalidate(id, 'source data changed');
    jobWork(ctx, store.job(id)!).discard();
  }
}

export async function runStudy(o: RunStudyOptions): Promise<StudyOutcome> {
  const t0 = Date.now();
  const out = resolve(o.out);
  const info = o.onInfo ?? (() => {});
  const plan = planStudy(o.spec, out);
  // One runner per study directory: a second one would hand the first one's running jobs back.
  const lock = lockDir(out, 'study');
  const layout = studyLayout(out);
  let store: StudyStore;
  try {
    store = new StudyStore(join(out, STORE_FILE));
  } catch (e) {
    lock.release();
    throw e;
  }
  const executor: Executor = o.executor ?? new LocalProcessExecutor(o.jobs ?? 1);
  const ctx: JobContext = { plan, layout, threads: o.threads };
  try {
    store.setMeta('spec', JSON.stringify(o.spec.spec));
    store.setMeta('spec_source', o.spec.where);
    await writeJsonAtomic(join(out, 'study-spec.json'), o.spec.spec);
    await reapOrphans(store, ctx, executor, info);
    for (const id of store.sync(plan.jobs)) {
      info(`job ${id}: its inputs changed; redoing it`);
      jobWork(ctx, store.job(id)!).discard();
    }
    // A finished job whose outputs were removed since is redone.
    const planned = new Set(plan.jobs.map((j) => j.id));
    for (const j of store.jobs())
      if (planned.has(j.id) && j.state === 'done' && !jobWork(ctx, j).complete()) {
        info(`job ${j.id}: its outputs are gone; redoing it`);
        store.invalidate(j.id, 'outputs missing');
      }
    await redoChangedData(store, ctx, info);
    const c0 = store.counts();
    info(`study ${o.spec.spec.name ?? o.spec.where}: ${plan.designs.length} designs, ${plan.models.length} models, ${plan.jobs.length} jobs (${c0.done} already done) → ${out}`);
    const schedule = await runSchedule({ store, executor, ctx, jobs: plan.jobs, signal: o.signal, retries: o.retries, onEvent: o.onEvent });
    const counts = store.counts();
    const outcome: StudyOutcome = { plan, schedule, counts, seconds: 0 };
    const allDone = plan.jobs.every((j) => store.job(j.id)?.state === 'done');
    if (allDone && !o.jobsOnly && !o.signal?.aborted) outcome.analysis = await analyzeStudy(plan, out, executor.remote ? new LocalProcessExecutor(1) : executor, info);
    outcome.seconds = (Date.now() - t0) / 1000;
    return outcome;
  } finally {
    store.close();
    lock.release();
  }
}

/** Analyze results/ into the study directory, then `cliplab report` into report.html. */
export async function analyzeStudy(
  plan: StudyPlan,
  out: string,
  executor: Executor,
  info: (m: string) => void,
): Promise<NonNullable<StudyOutcome['analysis']>> {
  const layout = studyLayout(out);
  const results = readResults([layout.results]);
  if (results.length === 0) throw new InputError(layout.results, 'no results to analyze');
  const a = plan.loaded.spec.analysis ?? {};
  const samplesDir = join(out, 'samples');
  try {
    await writeSourceSamples(plan.sources, samplesDir);
  } catch (err) {
    info(`samples for the report skipped: ${(err as Error).message.split('\n')[0]}`);
  }
  const robustness = analyze(results, {
    transform: a.transform ?? 'probit',
    baseline: plan.baseline ? { kind: 'designs', designs: plan.baseline } : { kind: 'default' },
    resamples: a.resamples ?? 1000,
    ...(a.reference ? { reference: a.reference } : {}),
    seed: 0,
    inputPaths: [layout.results],
    ...(existsSync(samplesDir) ? { samplesDir } : {}),
  });
  const written = await writeAnalysis(out, robustness, { png: true });
  const findings = studyFindings(robustness);
  await writeJsonAtomic(join(out, 'findings.json'), findings);
  await writeFileAtomic(join(out, 'findings.md'), findingsMarkdown(findings));
  info(`analysis: ${written.json}`);
  const report = join(out, 'report.html');
  const res = await executor.run({ jobId: 'report', args: ['report', '--in', out, '--out', report], logFile: join(layout.logs, 'report.log') });
  const files = [written.json, written.markdown, ...written.csv, ...written.plots, join(out, 'findings.json'), join(out, 'findings.md')];
  if (res.code !== 0) {
    const why = res.tail.split('\n').filter(Boolean).pop() ?? `exit ${res.code}`;
    return { robustness, files, report: null, reportError: why };
  }
  return { robustness, files: [...files, report], report };
}
