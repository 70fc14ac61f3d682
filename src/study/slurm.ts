// Talking to Slurm through its own commands: submit a batch script (sbatch --parsable), read job states
// (squeue for queued, running and recently ended jobs; scontrol, then sacct and sacct -c, for the exit code
// of an ended one), find a job by name after a runner crash, cancel (scancel). Nothing here keeps state.
import { execFile } from 'node:child_process';
import { constants } from 'node:os';

export interface SlurmJobSettings {
  partition?: string;
  /** GPUs per job (`--gres=gpu:N`, per node). */
  gpus?: number;
  /** CPUs for the job's one task (`--cpus-per-task`). */
  cpus?: number;
  /** Memory per node, Slurm's syntax (`16G`). */
  mem?: string;
  /** Time limit, Slurm's syntax (`4:00:00`, `2-00:00:00`). */
  time?: string;
  /** Nodes and tasks per node (multi-node OpenCLIP training through srun). */
  nodes?: number;
  tasks_per_node?: number;
  /** More sbatch arguments, as given (`--account=abc`, `--qos=high`). */
  sbatch_args?: string[];
}

export interface SlurmState {
  id: string;
  /** PENDING, RUNNING, COMPLETED, FAILED, CANCELLED, TIMEOUT, … (a suffix such as `CANCELLED by 0` is cut). */
  state: string;
  name?: string;
  workDir?: string;
  /** `exit:signal` as Slurm reports it, when the job has ended. */
  exitCode?: string;
  submit?: string;
  node?: string;
}

/** States after which a job will not run again (REQUEUED and the like are not among them). */
export const FINAL_STATES = new Set([
  'COMPLETED', 'FAILED', 'CANCELLED', 'TIMEOUT', 'NODE_FAIL', 'PREEMPTED', 'OUT_OF_MEMORY', 'BOOT_FAIL', 'DEADLINE', 'SPECIAL_EXIT', 'REVOKED',
]);

export interface CommandResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** How long a Slurm command may take before it is killed (a submission in flight ends by then). */
export const SLURM_COMMAND_TIMEOUT_MS = 60_000;

/** Runs a Slurm command; a missing binary reads as exit 127. `onSpawn` gets its pid. */
export function slurmCommand(cmd: string, args: string[], onSpawn?: (pid: number) => void): Promise<CommandResult> {
  return new Promise((resolve) => {
    const child = execFile(cmd, args, { timeout: SLURM_COMMAND_TIMEOUT_MS, maxBuffer: 64 << 20 }, (err, stdout, stderr) => {
      const e = err as (NodeJS.ErrnoException & { code?: number | string }) | null;
      const code = e ? (typeof e.code === 'number' ? e.code : e.code === 'ENOENT' ? 127 : 1) : 0;
      resolve({ code, stdout: String(stdout), stderr: String(stderr) || (e && code === 127 ? `${cmd}: not found on PATH` : '') });
    });
    if (child.pid !== undefined) onSpawn?.(child.pid);
  });
}

/** The sbatch arguments for one job (besides the script): name, log, working directory, resources. */
export function sbatchArgs(name: string, logFile: string, workDir: string, s: SlurmJobSettings): string[] {
  const a = ['--parsable', `--job-name=${name}`, `--output=${logFile}`, '--open-mode=append', `--chdir=${workDir}`];
  if (s.partition) a.push(`--partition=${s.partition}`);
  if (s.nodes !== undefined) a.push(`--nodes=${s.nodes}`);
  if (s.tasks_per_node !== undefined) a.push(`--ntasks-per-node=${s.tasks_per_node}`);
  else a.push('--ntasks=1');
  if (s.cpus !== undefined) a.push(`--cpus-per-task=${s.cpus}`);
  if (s.gpus !== undefined && s.gpus > 0) a.push(`--gres=gpu:${s.gpus}`);
  if (s.mem) a.push(`--mem=${s.mem}`);
  if (s.time) a.push(`--time=${s.time}`);
  a.push(...(s.sbatch_args ?? []));
  return a;
}

/**
 * Submits `script`; returns the job id, or throws with sbatch's own message. `onSpawn` gets sbatch's pid: a
 * runner killed mid-submission leaves sbatch running, and the next runner waits for it before looking the job up.
 */
export async function submit(args: string[], script: string, onSpawn?: (pid: number) => void): Promise<string> {
  const r = await slurmCommand('sbatch', [...args, script], onSpawn);
  const id = r.stdout.trim().split(';')[0]!;
  if (r.code !== 0 || !/^\d+$/.test(id)) {
    const why = (r.stderr.trim().split('\n').pop() ?? '') || `exit ${r.code}`;
    throw new Error(`sbatch failed: ${why}`);
  }
  return id;
}

const cut = (state: string): string => state.split(/[ +]/)[0]!;

/** squeue for these ids (`-t all`: also jobs that ended within MinJobAge). Ids squeue does not know are absent. */
export async function queueStates(ids: string[]): Promise<Map<string, SlurmState>> {
  const out = new Map<string, SlurmState>();
  if (ids.length === 0) return out;
  const r = await slurmCommand('squeue', ['-h', '-t', 'all', '-j', ids.join(','), '-o', '%i|%T|%j|%Z|%V|%N']);
  if (r.code !== 0) throw new Error(`squeue failed: ${r.stderr.trim() || `exit ${r.code}`}`);
  for (const line of r.stdout.split('\n')) {
    const [id, state, name, workDir, submit, node] = line.split('|');
    if (id && state) out.set(id.trim(), { id: id.trim(), state: cut(state), name, workDir, submit, node: node?.trim() || undefined });
  }
  return out;
}

/** Jobs named `name` (queued, running, or ended within MinJobAge), newest first. */
export async function jobsNamed(name: string): Promise<SlurmState[]> {
  const r = await slurmCommand('squeue', ['-h', '-t', 'all', `--name=${name}`, '-o', '%i|%T|%j|%Z|%V|%N']);
  if (r.code !== 0) throw new Error(`squeue failed: ${r.stderr.trim() || `exit ${r.code}`}`);
  return r.stdout
    .split('\n')
    .map((l) => l.split('|'))
    .filter((f) => f.length >= 5 && f[2] === name)
    .map(([id, state, n, workDir, submit, node]) => ({ id: id!.trim(), state: cut(state!), name: n, workDir, submit, node: node?.trim() || undefined }))
    .sort((a, b) => Number(b.id) - Number(a.id));
}

/** How an ended job finished: scontrol (recent jobs), else sacct (slurmdbd), else sacct -c (job-completion log). */
export async function finalState(id: string): Promise<SlurmState | null> {
  const sc = await slurmCommand('scontrol', ['show', 'job', '-o', id]);
  if (sc.code === 0) {
    const f = (k: string): string | undefined => new RegExp(`(?:^| )${k}=(\\S*)`).exec(sc.stdout)?.[1];
    const state = f('JobState');
    if (state) return { id, state: cut(state), name: f('JobName'), workDir: f('WorkDir'), exitCode: f('ExitCode'), submit: f('SubmitTime'), node: f('BatchHost') };
  }
  for (const extra of [[], ['-c']]) {
    const r = await slurmCommand('sacct', [...extra, '-n', '-P', '-X', '-j', id, '-o', 'JobID,State,ExitCode,JobName,WorkDir,Submit,NodeList']);
    if (r.code !== 0) continue;
    const row = r.stdout.split('\n').map((l) => l.split('|')).find((x) => x[0] === id);
    if (row) return { id, state: cut(row[1]!), exitCode: row[2], name: row[3], workDir: row[4], submit: row[5], node: row[6] };
  }
  return null;
}

/** Exit code and signal from Slurm's `exit:signal`. */
export function parseExitCode(s: string | undefined): { code: number | null; signal: NodeJS.Signals | null } {
  const [e, sig] = (s ?? '').split(':').map(Number);
  if (sig && Number.isFinite(sig)) {
    const name = Object.entries(constants.signals).find(([, n]) => n === sig)?.[0] as NodeJS.Signals | undefined;
    return { code: null, signal: name ?? null };
  }
  return { code: Number.isFinite(e) ? e! : null, signal: null };
}

export async function cancel(ids: string[]): Promise<void> {
  if (ids.length) await slurmCommand('scancel', ids);
}

/** The `sh`-quoted form of a word (for the batch script). */
export function shellQuote(w: string): string {
  return /^[A-Za-z0-9_./:=,+-]+$/.test(w) ? w : `'${w.replace(/'/g, `'\\''`)}'`;
}
