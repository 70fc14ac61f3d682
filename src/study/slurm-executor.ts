// The Slurm executor: each job is one sbatch submission named `cliplab:<study>:<job id>`, whose batch script
// runs the same `cliplab …` command the local pool would, logging where the local pool logs. One poller
// watches every job (squeue; scontrol/sacct once it ended); cancelAll is scancel. Job ids go to the results
// store through onHandle, so a runner started after this one died adopts them (attach / recover).
import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { InputError } from '../util/errors.js';
import { type ExecHooks, type ExecRequest, type ExecResult, type Executor, logTail, processGone, processMatches } from './executor.js';
import {
  FINAL_STATES, SLURM_COMMAND_TIMEOUT_MS, type SlurmJobSettings, type SlurmState, cancel, finalState, jobsNamed, parseExitCode, queueStates,
  sbatchArgs, shellQuote, slurmCommand, submit,
} from './slurm.js';
import type { JobKind } from './store.js';

export interface SlurmExecutorOptions {
  /** Study name, in every job name. */
  study: string;
  /** The study directory: each job's working directory (and where the batch scripts go, under slurm/). */
  workDir: string;
  /** Where the batch scripts go instead (ingest keeps its --out's top level for shards). */
  scriptDir?: string;
  /** The command that starts cliplab on a node, put as written at the head of each job's command line. */
  cliplab: string;
  /** Resources for a job of this kind (the report and other kind-less jobs get `{}`). */
  settings: (kind: JobKind | undefined) => SlurmJobSettings;
  /** Jobs submitted at once (default: no limit; Slurm queues them). */
  slots?: number;
  /** Poll interval bounds in ms (the poller backs off while nothing changes). */
  pollMs?: [number, number];
}

/**
 * Per-kind resources: the spec's `slurm.<kind>` with the command line's settings on top (they apply to every
 * kind); `sbatch_args` add up, spec first.
 */
export function kindSettings(spec: Partial<Record<JobKind, SlurmJobSettings>> | undefined, flags: SlurmJobSettings): (kind: JobKind | undefined) => SlurmJobSettings {
  return (kind) => {
    const base = (kind && spec?.[kind]) || {};
    const defined = Object.fromEntries(Object.entries(flags).filter(([, v]) => v !== undefined)) as SlurmJobSettings;
    return { ...base, ...defined, sbatch_args: [...(base.sbatch_args ?? []), ...(flags.sbatch_args ?? [])] };
  };
}

interface Waiter {
  req: ExecRequest;
  t0: number;
  /** Polls in which Slurm knew nothing of the job (squeue and scontrol/sacct). */
  misses: number;
  resolve: (r: ExecResult) => void;
}

const HANDLE = /^slurm:(\d+)$/;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export class SlurmExecutor implements Executor {
  readonly slots: number;
  readonly remote = true;
  private readonly waiting = new Map<string, Waiter>();
  private poller: Promise<void> | null = null;
  private wake: (() => void) | null = null;

  constructor(private readonly o: SlurmExecutorOptions) {
    this.slots = o.slots ?? Number.MAX_SAFE_INTEGER;
  }

  /** Fails fast, naming what is missing, when the Slurm commands cannot be run here. */
  static async check(): Promise<void> {
    for (const cmd of ['sbatch', 'squeue', 'scontrol', 'scancel']) {
      const r = await slurmCommand(cmd, ['--version']);
      if (r.code !== 0) throw new InputError('--executor slurm', `${cmd} does not run here (${r.stderr.trim() || `exit ${r.code}`}); run it on a Slurm submit host`);
    }
  }

  jobName(jobId: string): string {
    return `cliplab:${this.o.study}:${jobId}`;
  }

  /** The batch script: the cliplab command, as the local pool would run it, from the study directory. */
  private script(req: ExecRequest): string {
    const dir = this.o.scriptDir ?? join(this.o.workDir, 'slurm');
    mkdirSync(dir, { recursive: true });
    const file = join(dir, `${req.jobId.replace(/\//g, '__')}.sh`);
    const body = [
      '#!/bin/sh',
      `# ${this.jobName(req.jobId)}: written by cliplab, which reads this job's state from Slurm.`,
      `${this.o.cliplab} ${req.args.map(shellQuote).join(' ')}`,
      '',
    ].join('\n');
    writeFileSync(file, body);
    chmodSync(file, 0o755);
    return file;
  }

  async run(req: ExecRequest, hooks: ExecHooks = {}): Promise<ExecResult> {
    const t0 = Date.now();
    mkdirSync(join(req.logFile, '..'), { recursive: true });
    let id: string;
    try {
      id = await submit(sbatchArgs(this.jobName(req.jobId), req.logFile, this.o.workDir, this.o.settings(req.kind)), this.script(req), hooks.onStart);
    } catch (err) {
      const msg = (err as Error).message;
      return { code: null, signal: null, seconds: (Date.now() - t0) / 1000, tail: msg, reason: msg };
    }
    hooks.onHandle?.(`slurm:${id}`);
    return this.wait(id, req);
  }

  /** Adopts a job of an earlier runner when Slurm still knows it under this study's name and directory. */
  async attach(handle: string, req: ExecRequest): Promise<ExecResult | null> {
    const id = HANDLE.exec(handle)?.[1];
    if (!id) return null;
    const s = (await queueStates([id])).get(id) ?? (await finalState(id));
    if (!s || !this.ours(s, req)) return null;
    return this.wait(id, req);
  }

  /**
   * A job a killed runner submitted between sbatch and recording its id: found by name, directory and time. When
   * that runner's sbatch is still running, the job may not exist yet: wait for sbatch to end first.
   */
  async recover(req: ExecRequest, claim: { at: string; pid: number | null }, info: (m: string) => void): Promise<string | null> {
    if (claim.pid !== null && processMatches(claim.pid, `--chdir=${this.o.workDir}`)) {
      info(`job ${req.jobId}: waiting for the sbatch of an interrupted run (pid ${claim.pid}) to finish submitting`);
      await processGone(claim.pid, SLURM_COMMAND_TIMEOUT_MS + 5000);
    }
    const since = Date.parse(claim.at) - 5000;
    const found = (await jobsNamed(this.jobName(req.jobId))).find((s) => this.ours(s, req) && (!s.submit || Date.parse(s.submit) >= since));
    return found ? `slurm:${found.id}` : null;
  }

  private ours(s: SlurmState, req: ExecRequest): boolean {
    // Job ids restart when a cluster's state is wiped; the name and directory tell a reused id from ours.
    return (s.name === undefined || s.name === this.jobName(req.jobId)) && (s.workDir === undefined || s.workDir === this.o.workDir);
  }

  private wait(id: string, req: ExecRequest): Promise<ExecResult> {
    return new Promise((resolve) => {
      this.waiting.set(id, { req, t0: Date.now(), misses: 0, resolve });
      this.poller ??= this.poll().finally(() => (this.poller = null));
      this.wake?.();
    });
  }

  private async poll(): Promise<void> {
    const [min, max] = this.o.pollMs ?? [500, 5000];
    let delay = min;
    const seen = new Map<string, string>();
    while (this.waiting.size > 0) {
      await Promise.race([sleep(delay), new Promise<void>((r) => (this.wake = r))]);
      this.wake = null;
      let changed = false;
      let states: Map<string, SlurmState>;
      try {
        states = await queueStates([...this.waiting.keys()]);
      } catch {
        delay = Math.min(max, delay * 2); // the controller is busy or restarting: ask again later
        continue;
      }
      for (const [id, w] of [...this.waiting]) {
        const q = states.get(id);
        if (q && !FINAL_STATES.has(q.state)) {
          if (seen.get(id) !== q.state) changed = true;
          seen.set(id, q.state);
          w.misses = 0;
          continue;
        }
        const f = (await finalState(id)) ?? q ?? null;
        if (!f || !FINAL_STATES.has(f.state)) {
          // Unknown right after sbatch or while the controller catches up; gone for good after a few polls.
          if (!f && ++w.misses >= 5) this.settle(id, { code: null, signal: null, seconds: (Date.now() - w.t0) / 1000, tail: logTail(w.req.logFile), reason: `Slurm has no record of job ${id}` });
          continue;
        }
        changed = true;
        this.settle(id, this.result(id, f, w));
      }
      delay = changed ? min : Math.min(max, Math.round(delay * 1.5));
    }
  }

  private result(id: string, f: SlurmState, w: Waiter): ExecResult {
    const { code, signal } = parseExitCode(f.exitCode);
    const seconds = (Date.now() - w.t0) / 1000;
    const tail = logTail(w.req.logFile);
    if (f.state === 'COMPLETED') return { code: code ?? 0, signal: null, seconds, tail };
    const on = f.node && f.node !== '(null)' ? ` on ${f.node}` : '';
    const how = f.state === 'FAILED' && code !== null ? ` (exit ${code})` : signal ? ` (${signal})` : '';
    return { code: f.state === 'FAILED' ? code : null, signal, seconds, tail, reason: `Slurm job ${id} ${f.state}${how}${on}` };
  }

  private settle(id: string, r: ExecResult): void {
    const w = this.waiting.get(id);
    if (!w) return;
    this.waiting.delete(id);
    w.resolve(r);
  }

  /** scancel every job this runner waits on, then waits (up to 30 s) until Slurm reports them ended. */
  async cancelAll(): Promise<void> {
    const ids = [...this.waiting.keys()];
    if (ids.length === 0) return;
    await cancel(ids);
    const t0 = Date.now();
    this.wake?.();
    while (ids.some((id) => this.waiting.has(id)) && Date.now() - t0 < 30_000) await sleep(200);
    for (const id of ids) this.settle(id, { code: null, signal: 'SIGTERM', seconds: 0, tail: '', reason: `Slurm job ${id} cancelled` });
  }
}
