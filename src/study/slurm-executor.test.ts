// The Slurm executor on a real Slurm cluster (../shared/slurm/up.sh; .ci/run starts it) with the fake cliplab
// as the job command: a runner SIGKILLed mid-study and rerun runs every job exactly once (by the results
// store and by Slurm's own job-completion records), a job failing on the node is retried and reported, and
// Ctrl-C cancels the queued and running jobs. Plus the pure parts (sbatch arguments, settings, exit codes).
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { describeWith } from '../../test/support/external.js';
import { slurmTool } from '../../test/support/tools.js';
import { jobWork, studyLayout } from './jobs.js';
import { planStudy } from './plan.js';
import { kindSettings } from './slurm-executor.js';
import { parseStudySpec } from './spec.js';
import { parseExitCode, sbatchArgs, shellQuote } from './slurm.js';
import { STORE_FILE, StudyStore } from './store.js';

const here = fileURLToPath(new URL('.', import.meta.url));
const repo = join(here, '..', '..');
const fixtures = join(repo, 'test', 'fixtures', 'study');
const fake = join(fixtures, 'fake-cliplab.mjs');
const smallSpec = join(fixtures, 'slurm-study.yaml');
const bin = join(repo, 'bin', 'cliplab.js');

describe('slurm settings and parsing', () => {
  it('builds sbatch arguments: name, log, directory, resources, extra arguments last', () => {
    expect(sbatchArgs('cliplab:s:train/a', '/o/logs/a.log', '/o', { partition: 'gpu', gpus: 2, cpus: 8, mem: '32G', time: '4:00:00', sbatch_args: ['--qos=high'] })).toEqual([
      '--parsable', '--job-name=cliplab:s:train/a', '--output=/o/logs/a.log', '--open-mode=append', '--chdir=/o',
      '--partition=gpu', '--ntasks=1', '--cpus-per-task=8', '--gres=gpu:2', '--mem=32G', '--time=4:00:00', '--qos=high',
    ]);
    expect(sbatchArgs('n', 'l', 'd', { nodes: 2, tasks_per_node: 4, gpus: 0 })).toEqual([
      '--parsable', '--job-name=n', '--output=l', '--open-mode=append', '--chdir=d', '--nodes=2', '--ntasks-per-node=4',
    ]);
  });

  it("merges the spec's per-kind settings under the command line's", () => {
    const s = kindSettings({ train: { gpus: 1, mem: '16G', sbatch_args: ['--a'] }, eval: { cpus: 2 } }, { mem: '64G', partition: 'p', sbatch_args: ['--b'] });
    expect(s('train')).toEqual({ gpus: 1, mem: '64G', partition: 'p', sbatch_args: ['--a', '--b'] });
    expect(s('eval')).toEqual({ cpus: 2, mem: '64G', partition: 'p', sbatch_args: ['--b'] });
    expect(s(undefined)).toEqual({ mem: '64G', partition: 'p', sbatch_args: ['--b'] });
  });

  it("passes a spec's train.engine: openclip settings to the training command", () => {
    const out = mkdtempSync(join(tmpdir(), 'cliplab-plan-'));
    const spec = parseStudySpec({
      name: 'gpu', testbed: {}, model: 'ViT-B-32', sizes: [{ name: 's1', fraction: 1, samples: 1000 }], designs: [{ name: 'shaded', source: 'emoji-shaded' }],
      train: { engine: 'openclip', nproc_per_node: 4, precision: 'amp_bf16', python: '/opt/py/bin/python' },
      slurm: { train: { gpus: 4 } },
    }, 'inline', out);
    const plan = planStudy(spec, out);
    const job = plan.jobs.find((j) => j.kind === 'train')!;
    const rec = { ...job, design: job.design ?? null, model: job.model ?? null, state: 'pending' as const, attempts: 0, pid: null, handle: null, startedAt: null, finishedAt: null, seconds: null, outputs: null, error: null };
    const { args } = jobWork({ plan, layout: studyLayout(out) }, rec).request();
    expect(args.slice(args.indexOf('--engine'))).toEqual(['--engine', 'openclip', '--nproc-per-node', '4', '--precision', 'amp_bf16', '--python', '/opt/py/bin/python']);
  });

  it("reads Slurm's exit:signal and quotes script words", () => {
    expect(parseExitCode('3:0')).toEqual({ code: 3, signal: null });
    expect(parseExitCode('0:15')).toEqual({ code: null, signal: 'SIGTERM' });
    expect(shellQuote('--out')).toBe('--out');
    expect(shellQuote("it's a b")).toBe(`'it'\\''s a b'`);
  });
});

interface Record_ {
  id: string;
  name: string;
  state: string;
}

/** Slurm's own records of this study's jobs: the job-completion log (every ended job), by working directory. */
function slurmRecords(out: string): Record_[] {
  const r = spawnSync('sacct', ['-c', '-n', '-P', '-o', 'JobID,JobName,State,WorkDir'], { encoding: 'utf8' });
  return r.stdout
    .split('\n')
    .map((l) => l.split('|'))
    .filter((f) => f[3] === out)
    .map(([id, name, state]) => ({ id: id!, name: name!, state: state!.split(' ')[0]! }));
}

/** The small spec with other designs (and study name), written beside `out`. */
function variant(out: string, name: string, designs: string[]): string {
  const spec = join(out, '..', `${out.split('/').pop()}.yaml`);
  const list = designs.map((d) => `  - { name: ${d}, source: ${d} }`).join('\n');
  writeFileSync(spec, readFileSync(smallSpec, 'utf8').replace('name: slurm-small', `name: ${name}`).replace(/designs:[\s\S]*?analysis/, `designs:\n${list}\nanalysis`));
  return spec;
}

/** This study's jobs that Slurm still has queued or running. */
function liveJobs(out: string): { id: string; state: string }[] {
  const r = spawnSync('squeue', ['-h', '-o', '%i|%T|%Z'], { encoding: 'utf8' });
  return r.stdout.split('\n').map((l) => l.split('|')).filter((f) => f[2] === out).map(([id, state]) => ({ id: id!, state: state! }));
}

function startStudy(spec: string, out: string, env: Record<string, string> = {}): { child: ChildProcess; done: Promise<{ code: number | null; stderr: string }> } {
  const child = spawn(process.execPath, [bin, 'study', spec, '--out', out, '--executor', 'slurm', '--cliplab', `${process.execPath} ${fake}`, '--cpus-per-job', '1'], {
    cwd: repo,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const done = new Promise<{ code: number | null; stderr: string }>((resolve) => child.once('exit', (code) => resolve({ code, stderr })));
  return { child, done };
}

async function until(what: string, ok: () => boolean, ms = 300_000): Promise<void> {
  const t0 = Date.now();
  while (!ok()) {
    if (Date.now() - t0 > ms) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

function jobsOf(out: string) {
  if (!existsSync(join(out, STORE_FILE))) return [];
  const s = new StudyStore(join(out, STORE_FILE));
  try {
    return s.jobs();
  } finally {
    s.close();
  }
}

const tmp = (): string => mkdtempSync(join(tmpdir(), 'cliplab-slurm-'));

describeWith(slurmTool(), 'study --executor slurm (real Slurm)', () => {
  it('a runner killed with SIGKILL mid-study and rerun runs every job exactly once', { timeout: 600_000 }, async () => {
    const out = tmp();
    const calls = join(out, '..', `${out.split('/').pop()}.calls.jsonl`);
    const env = { FAKE_SLEEP_MS: '1500', FAKE_CALLS: calls };
    const first = startStudy(smallSpec, out, env);
    let killedWith: { done: number; live: number } = { done: 0, live: 0 };
    await until('two trainings done and one submitted', () => {
      const jobs = jobsOf(out);
      const trainDone = jobs.filter((j) => j.kind === 'train' && j.state === 'done').length;
      const submitted = jobs.filter((j) => j.kind === 'train' && j.state === 'running' && j.handle).length;
      killedWith = { done: jobs.filter((j) => j.state === 'done').length, live: submitted };
      return trainDone >= 1 && submitted >= 1;
    });
    first.child.kill('SIGKILL');
    await first.done;
    expect(liveJobs(out).length).toBeGreaterThanOrEqual(1); // Slurm keeps running what the dead runner submitted
    const second = startStudy(smallSpec, out, env);
    const r = await second.done;
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/waiting on train\/\S+ \(slurm:\d+, started by an interrupted run\)/);
    const jobs = jobsOf(out);
    expect(jobs.length).toBe(13);
    expect(killedWith.done).toBeLessThan(13);
    // The store: each job submitted once (a job the dead runner had claimed but not yet submitted was handed
    // back and submitted by the rerun: claimed twice, run once).
    const store = new StudyStore(join(out, STORE_FILE));
    const submissions = store.events().filter((e) => e.detail?.startsWith('submitted as slurm:'));
    store.close();
    for (const j of jobs) {
      expect(j.state, j.id).toBe('done');
      expect(submissions.filter((e) => e.jobId === j.id).length, j.id).toBe(1);
    }
    // The nodes: each job's command ran once (the fake cliplab logs every call).
    const outs = readFileSync(calls, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as string[]).filter((a) => a[0] !== 'report')
      .map((a) => a[a.indexOf('--out') + 1]);
    expect(outs.length).toBe(13);
    expect(new Set(outs).size).toBe(13);
    // Slurm's records: one completed job per study job, under its name, and nothing else from this study.
    const recs = slurmRecords(out);
    expect(recs.map((x) => x.name).sort()).toEqual(jobs.map((j) => `cliplab:slurm-small:${j.id}`).sort());
    expect(recs.every((x) => x.state === 'COMPLETED')).toBe(true);
    for (const j of jobs) expect(j.handle, j.id).toBe(`slurm:${recs.find((x) => x.name.endsWith(`:${j.id}`))!.id}`);
    expect(existsSync(join(out, 'report.html'))).toBe(true);
  });

  it('a runner killed while sbatch is still submitting: the rerun waits for it, and the job runs once', { timeout: 600_000 }, async () => {
    const out = tmp();
    const calls = join(out, '..', `${out.split('/').pop()}.calls.jsonl`);
    // A slow sbatch (the real one, six seconds late), so the runner is killed with a submission in flight:
    // the job is claimed, sbatch is running, and its Slurm id is not yet in the store.
    const slow = mkdtempSync(join(tmpdir(), 'cliplab-slow-sbatch-'));
    const real = spawnSync('sh', ['-c', 'command -v sbatch'], { encoding: 'utf8' }).stdout.trim();
    writeFileSync(join(slow, 'sbatch'), `#!/bin/sh\ncase "$*" in *--parsable*) touch ${slow}/in-flight; sleep 6;; esac\nexec ${real} "$@"\n`, { mode: 0o755 });
    const env = { FAKE_CALLS: calls, PATH: `${slow}:${process.env.PATH}` };
    const spec = variant(out, 'slurm-inflight', ['emoji-shaded']);
    const first = startStudy(spec, out, env);
    await until('the first sbatch started', () => existsSync(join(slow, 'in-flight')));
    first.child.kill('SIGKILL');
    await first.done;
    const second = startStudy(spec, out, env);
    const r = await second.done;
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/waiting for the sbatch of an interrupted run/);
    const jobs = jobsOf(out);
    const store = new StudyStore(join(out, STORE_FILE));
    const submissions = store.events().filter((e) => e.detail?.startsWith('submitted as slurm:'));
    store.close();
    for (const j of jobs) {
      expect(j.state, j.id).toBe('done');
      expect(submissions.filter((e) => e.jobId === j.id).length, j.id).toBe(1);
    }
    const outs = readFileSync(calls, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as string[]).filter((a) => a[0] !== 'report')
      .map((a) => a[a.indexOf('--out') + 1]);
    expect(outs.length).toBe(new Set(outs).size);
    expect(outs.length).toBe(jobs.length);
    const recs = slurmRecords(out);
    expect(recs.map((x) => x.name).sort()).toEqual(jobs.map((j) => `cliplab:slurm-inflight:${j.id}`).sort());
  });

  it('a job failing on the node is retried and reported', { timeout: 600_000 }, async () => {
    const out = tmp();
    const { done } = startStudy(variant(out, 'slurm-retry', ['emoji-shaded']), out, { FAKE_FAIL_ONCE: 'emoji-shaded-s2-seed0' });
    const r = await done;
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/FAILED train\/emoji-shaded-s2-seed0: Slurm job \d+ FAILED \(exit 1\) on \S+: cliplab: simulated failure on the first attempt \(log: .*\) — retrying/);
    const job = jobsOf(out).find((j) => j.id === 'train/emoji-shaded-s2-seed0')!;
    expect(job).toMatchObject({ state: 'done', attempts: 2 });
    const recs = slurmRecords(out).filter((x) => x.name === 'cliplab:slurm-retry:train/emoji-shaded-s2-seed0');
    expect(recs.map((x) => x.state)).toEqual(['FAILED', 'COMPLETED']);
    expect(readFileSync(join(out, 'logs', 'train__emoji-shaded-s2-seed0.log'), 'utf8')).toContain('simulated failure on the first attempt');
  });

  it('Ctrl-C cancels the jobs it queued and leaves them to resume', { timeout: 600_000 }, async () => {
    const out = tmp();
    const { child, done } = startStudy(variant(out, 'slurm-wide', ['emoji-flat', 'emoji-shaded', 'line-icons']), out, { FAKE_SLEEP_MS: '60000' });
    // Two CPUs, one per job: two trainings run and the others wait in the queue.
    // Only trainings hold (the fake's other jobs finish at once), and every claimed job's sbatch has returned
    // (its Slurm id is in the store: squeue can list a job before the runner has recorded it).
    await until('only trainings submitted, one running and one queued, every submission recorded', () => {
      const live = liveJobs(out);
      const claimed = jobsOf(out).filter((j) => j.state === 'running');
      const trainsOnly = claimed.length > 0 && claimed.every((j) => j.kind === 'train' && j.handle);
      return trainsOnly && claimed.length === live.length && live.some((j) => j.state === 'RUNNING') && live.some((j) => j.state === 'PENDING');
    });
    const submitted = jobsOf(out).filter((j) => j.state === 'running').map((j) => j.handle);
    child.kill('SIGINT');
    const r = await done;
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/study interrupted/);
    expect(liveJobs(out)).toEqual([]);
    const cancelled = slurmRecords(out).filter((x) => x.state === 'CANCELLED').map((x) => `slurm:${x.id}`);
    expect(cancelled.sort()).toEqual([...submitted].sort());
    expect(cancelled.length).toBeGreaterThanOrEqual(3);
    for (const j of jobsOf(out).filter((x) => x.kind === 'train')) expect(j.state, j.id).toBe('pending');
  });
});
