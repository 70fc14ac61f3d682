// The study runner on a fake cliplab (same files, milliseconds per job): the grid completes in dependency
// order, results carry design_info, a rerun redoes nothing, a SIGKILLed run resumes without redoing finished
// jobs, failures block only their dependents, and a changed spec redoes exactly the affected jobs.
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { LOCK_FILE } from '../util/dir-lock.js';
import { processIdentity } from '../util/process.js';
import { LocalProcessExecutor } from './executor.js';
import { runStudy } from './run-study.js';
import { readStudySpec } from './spec.js';
import { STORE_FILE, StudyStore } from './store.js';

const here = fileURLToPath(new URL('.', import.meta.url));
const repo = join(here, '..', '..');
const fixtures = join(repo, 'test', 'fixtures', 'study');
const fake = join(fixtures, 'fake-cliplab.mjs');
const tinySpec = join(fixtures, 'tiny-study.yaml');

function tmp(): string {
  return mkdtempSync(join(tmpdir(), 'cliplab-study-'));
}

function run(out: string, spec = tinySpec, jobs = 4) {
  return runStudy({ spec: readStudySpec(spec), out, executor: new LocalProcessExecutor(jobs, { bin: fake }) });
}

function storeOf(out: string): StudyStore {
  return new StudyStore(join(out, STORE_FILE));
}

describe('study runner (fake cliplab)', () => {
  it('runs every job in dependency order, writes results with design_info, analyzes, and a rerun redoes nothing', async () => {
    const out = tmp();
    const calls = join(out, 'calls.jsonl');
    process.env.FAKE_CALLS = calls;
    try {
      const r = await run(out);
      expect(r.schedule.failed).toEqual([]);
      expect(r.schedule.blocked).toEqual([]);
      const designs = r.plan.designs.map((d) => d.name).sort();
      expect(designs).toEqual(['all', 'ens-emoji-flat50-emoji-shaded50', 'mix-emoji-flat50-emoji-shaded50', 'emoji-shaded', 'line-icons', 'line-icons-filtered', 'emoji-flat'].sort());
      // 6 trained designs × 3 sizes, + 1 ensemble × 3 sizes.
      expect(r.plan.models.length).toBe(21);
      const results = readdirSync(join(out, 'results'));
      expect(results.length).toBe(21 * 4);
      const ens = JSON.parse(readFileSync(join(out, 'results', 'ens-emoji-flat50-emoji-shaded50-s2-seed0__noto-v1.json'), 'utf8'));
      expect(ens.design_info.kind).toBe('ensemble');
      expect(ens.design_info.members.map((m: { model: string }) => m.model).sort()).toEqual(['emoji-flat-s2-seed0', 'emoji-shaded-s2-seed0']);
      const filt = JSON.parse(readFileSync(join(out, 'results', 'line-icons-filtered-s1-seed0__emojione-monotone.json'), 'utf8'));
      expect(filt.design_info).toMatchObject({ kind: 'filtered', sources: { 'line-icons': 1 }, filter: { method: 'clip-score', fraction: 0.5, model: 'emoji-flat-s3-seed0' } });
      expect(filt.design_info.size).toBe(30); // 120 pairs × 0.5 kept × size fraction 0.5
      expect(readdirSync(join(out, 'results-full')).length).toBe(21);
      // The filtered design's data job ran after the filter model's training.
      const lines = readFileSync(calls, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as string[]);
      const trainFilterModel = lines.findIndex((a) => a[0] === 'train' && a.includes(join(out, 'runs', '.emoji-flat-s3-seed0.tmp')));
      const buildFiltered = lines.findIndex((a) => a[0] === 'dataset' && a.some((x) => x.includes('line-icons-filtered')));
      expect(trainFilterModel).toBeGreaterThanOrEqual(0);
      expect(buildFiltered).toBeGreaterThan(trainFilterModel);
      const spec = JSON.parse(readFileSync(join(out, 'data', 'line-icons-filtered', 's1.spec.json'), 'utf8'));
      expect(spec.filters.clipScore).toEqual({ checkpoint: '../../runs/emoji-flat-s3-seed0', topFraction: 0.5 });
      const mix = JSON.parse(readFileSync(join(out, 'data', 'mix-emoji-flat50-emoji-shaded50', 's1.spec.json'), 'utf8'));
      expect(mix).toMatchObject({ total: 120, sources: [{ name: 'emoji-flat', proportion: 0.5 }, { name: 'emoji-shaded', proportion: 0.5 }] });
      // Analysis and report.
      expect(r.analysis?.report).toBe(join(out, 'report.html'));
      const rob = JSON.parse(readFileSync(join(out, 'robustness.json'), 'utf8'));
      expect(rob.baseline.designs).toEqual(['all']);
      expect(new Set(rob.lines.map((l: { design: string }) => l.design)).size).toBe(7);
      expect(existsSync(join(out, 'plots'))).toBe(true);
      const store = storeOf(out);
      expect(store.jobs().every((j) => j.state === 'done' && j.attempts === 1)).toBe(true);
      store.close();
      // Rerun: nothing runs again.
      const before = readFileSync(calls, 'utf8').trim().split('\n').length;
      const again = await run(out);
      expect(again.schedule.ran).toEqual([]);
      const after = readFileSync(calls, 'utf8').trim().split('\n');
      expect(after.slice(before).map((l) => JSON.parse(l)[0])).toEqual(['report']);
    } finally {
      delete process.env.FAKE_CALLS;
    }
  });

  it('resumes a SIGKILLed run without redoing finished jobs', async () => {
    const out = tmp();
    const child = spawn(process.execPath, ['--import', 'tsx', join(fixtures, 'run-fake-study.ts'), tinySpec, out], {
      cwd: repo,
      env: { ...process.env, FAKE_SLEEP_MS: '400' },
      stdio: 'ignore',
    });
    const t0 = Date.now();
    let doneBeforeKill: string[] = [];
    while (Date.now() - t0 < 60_000) {
      await new Promise((r) => setTimeout(r, 200));
      if (!existsSync(join(out, STORE_FILE))) continue;
      const s = storeOf(out);
      const jobs = s.jobs();
      s.close();
      const trained = jobs.filter((j) => j.kind === 'train' && j.state === 'done');
      if (trained.length >= 3 && jobs.some((j) => j.kind === 'train' && j.state === 'running')) {
        child.kill('SIGKILL');
        doneBeforeKill = jobs.filter((j) => j.state === 'done').map((j) => j.id);
        break;
      }
    }
    await new Promise((r) => child.once('exit', r));
    expect(doneBeforeKill.length).toBeGreaterThanOrEqual(4);
    const r = await run(out);
    expect(r.schedule.failed).toEqual([]);
    const s = storeOf(out);
    const jobs = s.jobs();
    expect(jobs.every((j) => j.state === 'done')).toBe(true);
    for (const id of doneBeforeKill) {
      expect(s.job(id)!.attempts, id).toBe(1);
      expect(s.events(id).filter((e) => e.to === 'running').length, id).toBe(1);
    }
    expect(r.schedule.ran.some((id) => doneBeforeKill.includes(id))).toBe(false);
    // The job that was running when the runner died was handed back and run again.
    const interrupted = s.events().filter((e) => e.detail === 'resumed after an interrupted run');
    expect(interrupted.length).toBeGreaterThanOrEqual(1);
    s.close();
    expect(readdirSync(join(out, 'results')).length).toBe(21 * 4);
  });

  it('a job left running by a runner killed before it recorded the pid is found by its output directory and stopped', { timeout: 120_000 }, async () => {
    const out = tmp();
    expect((await run(out)).schedule.failed).toEqual([]);
    // The runner died between spawning the job and storing its pid: the store says running, pid unknown.
    const id = 'train/emoji-shaded-s2-seed0';
    const s = storeOf(out);
    s.invalidate(id, 'test');
    expect(s.claim(id)).toBe(true);
    expect(s.job(id)!.pid).toBeNull();
    s.close();
    const stray = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)', '--', '--out', join(out, 'runs', '.emoji-shaded-s2-seed0.tmp')], { detached: true, stdio: 'ignore' });
    const gone = new Promise((r) => stray.once('exit', r));
    await new Promise((r) => setTimeout(r, 300));
    expect(processIdentity(stray.pid!)).not.toBeNull();
    const r = await run(out);
    expect(r.schedule.failed).toEqual([]);
    await Promise.race([gone, new Promise((_, rej) => setTimeout(() => rej(new Error('the stray job process is still running')), 10_000))]);
  });

  it('a failing job blocks only its dependents; the rerun retries it', async () => {
    const out = tmp();
    process.env.FAKE_FAIL = 'emoji-shaded-s2-seed0';
    let first;
    try {
      first = await run(out);
    } finally {
      delete process.env.FAKE_FAIL;
    }
    expect(first.schedule.failed.map((f) => f.id)).toEqual(['train/emoji-shaded-s2-seed0']);
    expect(first.schedule.failed[0]!.error).toMatch(/exit 1: cliplab: simulated failure/);
    expect(first.schedule.blocked.sort()).toEqual(['eval/ens-emoji-flat50-emoji-shaded50-s2-seed0', 'eval/emoji-shaded-s2-seed0'].sort());
    expect(first.analysis).toBeUndefined();
    const s = storeOf(out);
    expect(s.job('train/emoji-shaded-s2-seed0')).toMatchObject({ state: 'failed', attempts: 2 });
    expect(s.job('train/emoji-shaded-s3-seed0')).toMatchObject({ state: 'done', attempts: 1 });
    s.close();
    const second = await run(out);
    expect(second.schedule.ran.sort()).toEqual(['eval/ens-emoji-flat50-emoji-shaded50-s2-seed0', 'eval/emoji-shaded-s2-seed0', 'train/emoji-shaded-s2-seed0'].sort());
    expect(second.analysis?.robustness.models.length).toBeGreaterThan(0);
  });

  it('refuses to run while another live runner holds the study directory', async () => {
    const out = tmp();
    const other = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 20000)'], { stdio: 'ignore' });
    try {
      await new Promise((r) => setTimeout(r, 200));
      const start = processIdentity(other.pid!)!.split(':')[1];
      const holder = { pid: other.pid, start, host: hostname(), command: 'study', since: new Date().toISOString(), token: 't' };
      writeFileSync(join(out, LOCK_FILE), JSON.stringify(holder));
      await expect(run(out)).rejects.toThrow(new RegExp(`another cliplab study \\(pid ${other.pid},.*is writing this directory`));
      expect(existsSync(join(out, STORE_FILE))).toBe(false);
    } finally {
      const gone = new Promise((r) => other.once('exit', r));
      other.kill('SIGKILL');
      await gone;
    }
    // A dead holder does not block.
    const r = await run(out);
    expect(r.schedule.failed).toEqual([]);
  });

  it('a changed spec redoes exactly the jobs whose inputs changed', async () => {
    const out = tmp();
    await run(out);
    const changed = join(out, 'changed.yaml');
    writeFileSync(changed, readFileSync(tinySpec, 'utf8').replace('{ name: s1, fraction: 0.5, samples: 500 }', '{ name: s1, fraction: 0.5, samples: 600 }'));
    const r = await run(out, changed);
    // s1 training (6 trained designs) and the evals that depend on it (6 + 1 ensemble); s1 data and the filter
    // model (trained at s3) are untouched.
    expect(r.schedule.ran.filter((id) => id.startsWith('train/')).sort()).toEqual(
      ['all', 'mix-emoji-flat50-emoji-shaded50', 'emoji-shaded', 'line-icons', 'line-icons-filtered', 'emoji-flat'].map((d) => `train/${d}-s1-seed0`).sort(),
    );
    expect(r.schedule.ran.filter((id) => id.startsWith('eval/')).length).toBe(7);
    expect(r.schedule.ran.some((id) => id.startsWith('data/'))).toBe(false);
  });

  it('a testbed with the corrupted reference shift is built with it, and a changed severity rebuilds it and everything after it', async () => {
    const out = tmp();
    const calls = join(out, 'calls.jsonl');
    process.env.FAKE_CALLS = calls;
    try {
      const spec = (severity: number): string => {
        const p = join(out, `severity-${severity}.yaml`);
        writeFileSync(p, readFileSync(tinySpec, 'utf8').replace('eval_views_full: 1 }', `eval_views_full: 1, corruption_severity: ${severity} }`));
        return p;
      };
      const first = await run(out, spec(2));
      expect(first.schedule.failed).toEqual([]);
      const builds = (): string[][] => readFileSync(calls, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as string[]).filter((a) => a[0] === 'testbed');
      expect(builds()).toHaveLength(1);
      expect(builds()[0]!.slice(builds()[0]!.indexOf('--corruption-severity'))).toEqual(['--corruption-severity', '2']);
      const jobs = first.plan.jobs.length;
      const again = await run(out, spec(3));
      expect(builds()).toHaveLength(2);
      expect(builds()[1]).toContain('3');
      expect(again.schedule.ran.length).toBe(jobs);
    } finally {
      delete process.env.FAKE_CALLS;
    }
  });
});
