// Executors run one job's command. The study runner hands them plain data (cliplab arguments + a log file):
// the local pool runs it as a subprocess, the Slurm executor (./slurm-executor.ts) as one sbatch job.
import { spawn } from 'node:child_process';
import { closeSync, mkdirSync, openSync, readdirSync, readFileSync, existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { packageRoot } from '../util/assets.js';
import type { JobKind } from './store.js';

/** One job's command: `cliplab <args…>`, output to `logFile`. Serializable, so it can travel over a queue. */
export interface ExecRequest {
  jobId: string;
  /** The job's kind (testbed, data, train, eval), for per-kind resources; absent for the report. */
  kind?: JobKind;
  args: string[];
  logFile: string;
}

export interface ExecResult {
  /** Exit code (null when killed by a signal). */
  code: number | null;
  signal: NodeJS.Signals | null;
  seconds: number;
  /** Last lines of the log (for the error message of a failed job). */
  tail: string;
  /** Why it failed, when the exit code alone does not say (e.g. `Slurm job 12 TIMEOUT`). */
  reason?: string;
}

export interface ExecHooks {
  /** The job's subprocess id (stored to reap orphans after a crash). */
  onStart?: (pid: number) => void;
  /** The executor's name for the job (e.g. `slurm:1234`), stored so a later runner can adopt it. */
  onHandle?: (handle: string) => void;
}

export interface Executor {
  /** How many jobs may run at once. */
  readonly slots: number;
  /** Jobs run on other machines (the report, which is cheap, then runs here on a local pool). */
  readonly remote?: boolean;
  /** Runs a job to completion. */
  run(req: ExecRequest, hooks?: ExecHooks): Promise<ExecResult>;
  /** Stops every job it runs (local: SIGTERM to its process group, SIGKILL after a grace period). */
  cancelAll(): Promise<void>;
  /**
   * Waits on a job a previous (killed) runner started, by its stored handle: the job's result, or null when
   * the handle is not this executor's or the job is gone (it is then run again).
   */
  attach?(handle: string, req: ExecRequest): Promise<ExecResult | null>;
  /**
   * A job the killed runner claimed but recorded no handle for: its handle if the job exists after all. `claim.pid`
   * is the submitting process the runner recorded (it may outlive the runner and still be submitting).
   */
  recover?(req: ExecRequest, claim: { at: string; pid: number | null }, info: (m: string) => void): Promise<string | null>;
}

/** `bin/cliplab.js` of this package (works from src/ under vitest and from dist/). */
export function cliplabBin(): string {
  return join(packageRoot(), 'bin', 'cliplab.js');
}

export function logTail(file: string, lines = 6): string {
  if (!existsSync(file)) return '';
  const text = readFileSync(file, 'utf8').replace(/\r/g, '\n');
  return text.split('\n').filter((l) => l.trim() !== '').slice(-lines).join('\n');
}

/**
 * Kills a process group (the job and everything it started): SIGTERM, then SIGKILL after `graceMs`. Resolves once
 * the group is gone (or 5 s after SIGKILL), so a job rerun at once does not meet the old process still holding
 * its output directory's lock.
 */
export async function killGroup(pid: number, graceMs = 3000): Promise<void> {
  const alive = (): boolean => {
    try {
      process.kill(-pid, 0);
      return true;
    } catch {
      return false;
    }
  };
  try {
    process.kill(-pid, 'SIGTERM');
  } catch {
    return;
  }
  const t0 = Date.now();
  while (alive() && Date.now() - t0 < graceMs) await new Promise((r) => setTimeout(r, 50));
  if (!alive()) return;
  try {
    process.kill(-pid, 'SIGKILL');
  } catch {
    return; // gone
  }
  const t1 = Date.now();
  while (alive() && Date.now() - t1 < 5000) await new Promise((r) => setTimeout(r, 50));
}

/** The in-process pool: each job is a `node bin/cliplab.js …` subprocess in its own process group. */
export class LocalProcessExecutor implements Executor {
  private readonly running = new Map<string, number>();

  constructor(
    readonly slots: number,
    private readonly opts: { bin?: string; node?: string } = {},
  ) {}

  run(req: ExecRequest, hooks: ExecHooks = {}): Promise<ExecResult> {
    mkdirSync(dirname(req.logFile), { recursive: true });
    const fd = openSync(req.logFile, 'a');
    const t0 = Date.now();
    return new Promise<ExecResult>((resolve) => {
      const child = spawn(this.opts.node ?? process.execPath, [this.opts.bin ?? cliplabBin(), ...req.args], {
        stdio: ['ignore', fd, fd],
        detached: true,
      });
      const done = (code: number | null, signal: NodeJS.Signals | null): void => {
        this.running.delete(req.jobId);
        closeSync(fd);
        resolve({ code, signal, seconds: (Date.now() - t0) / 1000, tail: logTail(req.logFile) });
      };
      child.once('error', (err) => {
        this.running.delete(req.jobId);
        closeSync(fd);
        resolve({ code: 127, signal: null, seconds: 0, tail: err.message });
      });
      child.once('exit', done);
      if (child.pid !== undefined) {
        this.running.set(req.jobId, child.pid);
        hooks.onStart?.(child.pid);
      }
    });
  }

  async cancelAll(): Promise<void> {
    await Promise.all([...this.running.values()].map((pid) => killGroup(pid)));
  }
}

/** Resolves once `pid` has exited, or after `ms` (then SIGKILLs it: its own timeout should have ended it). */
export async function processGone(pid: number, ms: number): Promise<void> {
  const alive = (): boolean => {
    try {
      process.kill(pid, 0);
      return true;
    } catch {
      return false;
    }
  };
  const t0 = Date.now();
  while (alive() && Date.now() - t0 < ms) await new Promise((r) => setTimeout(r, 100));
  if (alive()) process.kill(pid, 'SIGKILL');
}

/** Live processes whose command line has `marker` as one of its arguments (Linux /proc; none elsewhere). */
export function processesWithArg(marker: string): number[] {
  let entries: string[];
  try {
    entries = readdirSync('/proc');
  } catch {
    return [];
  }
  const pids: number[] = [];
  for (const e of entries) {
    if (!/^\d+$/.test(e) || Number(e) === process.pid) continue;
    if (commandLine(Number(e))?.includes(marker)) pids.push(Number(e));
  }
  return pids;
}

/** A process's arguments from /proc, or null when it is gone (or not readable). */
function commandLine(pid: number): string[] | null {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
  } catch {
    return null;
  }
}

/** True when `pid` is alive and its command line mentions `marker` (so a recycled pid is left alone). */
export function processMatches(pid: number, marker: string): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  return commandLine(pid)?.some((a) => a.includes(marker)) ?? false;
}

export { processIdentity } from '../util/process.js';
