// `cliplab demo --quick` end to end on the real commands (builds dist/ first via `npm test`), killed with
// SIGKILL mid-run and rerun: the rerun finishes without redoing finished jobs, and the outputs pass the
// structural checks — every design present, every model evaluated on every set, lines fitted, report and
// plots written. A third run finds everything done and runs nothing.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { demoSpecPath } from './demo.js';
import { planStudy } from './plan.js';
import { readStudySpec } from './spec.js';
import { STORE_FILE, StudyStore } from './store.js';

const repo = fileURLToPath(new URL('../../', import.meta.url));
const SETS = ['noto-v1', 'fluent-emoji-high-contrast', 'emojione-monotone', 'noto-v1-distorted', 'noto-v1-corrupted'];

describe('cliplab demo --quick', () => {
  it('survives a SIGKILL, resumes without redoing finished jobs, and writes report.html, robustness.json, results and plots', { timeout: 900_000 }, async () => {
    const out = join(mkdtempSync(join(tmpdir(), 'cliplab-demo-')), 'demo');
    // 1. Start the demo and kill the runner (not its job subprocesses: the rerun must reap them) mid-run.
    const child = spawn(process.execPath, ['bin/cliplab.js', 'demo', '--quick', '--out', out], { cwd: repo, stdio: 'ignore' });
    const exited = new Promise((r) => child.once('exit', r));
    let doneBeforeKill: string[] = [];
    for (let t0 = Date.now(); Date.now() - t0 < 400_000; ) {
      await new Promise((r) => setTimeout(r, 250));
      if (!existsSync(join(out, STORE_FILE))) continue;
      const s = new StudyStore(join(out, STORE_FILE));
      const jobs = s.jobs();
      s.close();
      if (jobs.filter((j) => j.kind === 'train' && j.state === 'done').length >= 2 && jobs.some((j) => j.state === 'running')) {
        child.kill('SIGKILL');
        doneBeforeKill = jobs.filter((j) => j.state === 'done').map((j) => j.id);
        break;
      }
    }
    await exited;
    expect(doneBeforeKill.length).toBeGreaterThanOrEqual(3);

    // 2. Rerun to completion.
    const r = spawnSync(process.execPath, ['bin/cliplab.js', 'demo', '--quick', '--out', out, '--json'], { cwd: repo, encoding: 'utf8' });
    expect(r.status, r.stderr.slice(-3000)).toBe(0);
    const summary = JSON.parse(r.stdout.trim().split('\n').pop()!) as { report: string; files: string[] };
    expect(summary.report).toBe(join(out, 'report.html'));

    const plan = planStudy(readStudySpec(demoSpecPath(true)), out);
    const designs = plan.designs.map((d) => d.name).sort();
    expect(new Set(plan.designs.map((d) => d.kind))).toEqual(new Set(['source', 'mixture', 'filtered', 'ensemble']));

    // Every model evaluated on every set (and on the -full sets).
    const results = readdirSync(join(out, 'results')).sort();
    expect(results).toEqual(plan.models.flatMap((m) => SETS.map((s) => `${m.id}__${s}.json`)).sort());
    expect(readdirSync(join(out, 'results-full')).length).toBe(plan.models.length * SETS.length);
    for (const f of results) {
      const res = JSON.parse(readFileSync(join(out, 'results', f), 'utf8'));
      expect(res.design_info.kind, f).toBe(plan.designs.find((d) => d.name === res.design)!.kind);
      expect(res.metrics.acc1).toBeGreaterThanOrEqual(0);
    }

    // robustness.json: every design, a line per design and shift, ER against the baseline.
    const rob = JSON.parse(readFileSync(join(out, 'robustness.json'), 'utf8'));
    expect(rob.reference).toBe('noto-v1');
    expect(rob.shifts).toEqual(SETS.slice(1).sort());
    expect([...new Set(rob.models.map((m: { design: string }) => m.design))].sort()).toEqual(designs);
    const lines = new Set(rob.lines.map((l: { design: string; dataset: string }) => `${l.design}/${l.dataset}`));
    // A line needs two models of the design at different reference accuracies (read from the result files).
    const refAccs = new Map<string, Set<number>>();
    for (const f of results) {
      const res = JSON.parse(readFileSync(join(out, 'results', f), 'utf8')) as { design: string; dataset: string; metrics: { acc1: number } };
      if (res.dataset === SETS[0]) refAccs.set(res.design, (refAccs.get(res.design) ?? new Set()).add(res.metrics.acc1));
    }
    const fittable = designs.filter((d) => refAccs.get(d)!.size >= 2);
    expect(fittable.length).toBeGreaterThanOrEqual(designs.length - 1);
    for (const d of designs) for (const s of [...SETS.slice(1), 'average']) expect(lines.has(`${d}/${s}`), `${d}/${s}`).toBe(fittable.includes(d));
    expect(rob.baseline.designs).toEqual(plan.baseline);
    expect(rob.baseline.lines.length).toBe(SETS.length); // every shift and the average

    expect(existsSync(join(out, 'report.html'))).toBe(true);
    const plots = readdirSync(join(out, 'plots'));
    expect(plots.some((p) => p.endsWith('.svg'))).toBe(true);
    expect(plots.some((p) => p.endsWith('.png'))).toBe(true);

    const store = new StudyStore(join(out, STORE_FILE));
    const jobs = store.jobs();
    store.close();
    expect(jobs.length).toBe(plan.jobs.length);
    expect(jobs.filter((j) => j.state !== 'done')).toEqual([]);
    const byId = new Map(jobs.map((j) => [j.id, j]));
    for (const id of doneBeforeKill) expect(byId.get(id)!.attempts, id).toBe(1);
    const s1 = new StudyStore(join(out, STORE_FILE));
    for (const id of doneBeforeKill) expect(s1.events(id).filter((e) => e.to === 'running').length, id).toBe(1);
    s1.close();
    expect(r.stderr).toMatch(/\((\d+) already done\)/);

    // A rerun redoes nothing.
    const again = spawnSync(process.execPath, ['bin/cliplab.js', 'demo', '--quick', '--out', out, '--json'], { cwd: repo, encoding: 'utf8' });
    expect(again.status, again.stderr.slice(-2000)).toBe(0);
    const s2 = new StudyStore(join(out, STORE_FILE));
    expect(s2.jobs().map((j) => j.attempts)).toEqual(jobs.map((j) => j.attempts));
    s2.close();
  });
});
