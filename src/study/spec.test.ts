// Study spec validation: schema errors and cross-entry errors name the entry and key, and happen before any
// job starts (no store is created); the shipped demo specs are valid.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { demoSpecPath } from './demo.js';
import { planStudy } from './plan.js';
import { parseStudySpec, readStudySpec } from './spec.js';

const repo = fileURLToPath(new URL('../../', import.meta.url));

const base = {
  testbed: { concepts: 3 },
  model: 'ViT-Nano-8-32',
  sizes: [
    { name: 's1', fraction: 0.5, samples: 100 },
    { name: 's2', fraction: 1, samples: 200 },
  ],
};

function plan(extra: Record<string, unknown>) {
  return planStudy(parseStudySpec({ ...base, ...extra }, 'spec.yaml', '/tmp'), '/tmp/study-out');
}

describe('study spec', () => {
  it('plans every design kind with dependencies in order', () => {
    const p = plan({
      designs: [
        { name: 'tw', source: 'emoji-flat' },
        { name: 'all', mix: 'all' },
        { name: 'om-f', filter: { source: 'line-icons', model: 'tw', threshold: 0.2 } },
      ],
      mixtures: [{ sources: ['emoji-flat', 'emoji-shaded'], ratios: [0, 0.25, 0.5, 0.75, 1], ensemble: true }],
    });
    expect(p.designs.map((d) => `${d.name}:${d.kind}`)).toEqual([
      'tw:source', 'all:mixture', 'om-f:filtered', 'emoji-shaded:source', 'mix-emoji-flat25-emoji-shaded75:mixture', 'ens-emoji-flat25-emoji-shaded75:ensemble',
      'mix-emoji-flat50-emoji-shaded50:mixture', 'ens-emoji-flat50-emoji-shaded50:ensemble', 'mix-emoji-flat75-emoji-shaded25:mixture', 'ens-emoji-flat75-emoji-shaded25:ensemble',
    ]);
    expect(p.designs.find((d) => d.name === 'all')!.sources).toEqual(Object.fromEntries(
      ['emoji-flat', 'emoji-shaded', 'line-icons', 'glyph-icons', 'color-icons'].map((s) => [s, 1 / 5])));
    expect(p.baseline).toEqual(['all']);
    const filtered = p.jobs.find((j) => j.id === 'data/om-f/s1')!;
    expect(filtered.deps).toEqual(['testbed', 'train/tw-s2-seed0']);
    const ens = p.jobs.find((j) => j.id === 'eval/ens-emoji-flat25-emoji-shaded75-s1-seed0')!;
    expect(ens.deps).toEqual(['testbed', 'train/tw-s1-seed0', 'train/emoji-shaded-s1-seed0']);
    expect(p.designs.find((d) => d.name === 'ens-emoji-flat25-emoji-shaded75')!.sources).toEqual({ 'emoji-flat': 0.25, 'emoji-shaded': 0.75 });
    const index = new Map(p.jobs.map((j, i) => [j.id, i]));
    for (const j of p.jobs) for (const d of j.deps) expect(index.get(d)!, `${j.id} after ${d}`).toBeLessThan(index.get(j.id)!);
  });

  it.each([
    [{ designs: [{ name: 'x', source: 'myspace' }] }, /spec\.yaml: designs\[0\]\(x\)\.source: unknown source "myspace"/],
    [{ designs: [{ name: 'm', mix: { 'emoji-flat': 0.5, 'emoji-shaded': 0.4 } }] }, /spec\.yaml: designs\[0\]\(m\)\.mix: proportions sum to 0\.9, not 1/],
    [{ designs: [{ name: 'm', mix: { 'emoji-flat': 0.5, nope: 0.5 } }] }, /designs\[0\]\(m\)\.mix\.nope: unknown source "nope"/],
    [{ designs: [{ name: 'f', filter: { source: 'emoji-shaded', model: 'ghost', fraction: 0.5 } }] }, /designs\[0\]\(f\)\.filter\.model: filter model "ghost" is neither a design of this study nor an existing checkpoint/],
    [{ designs: [{ name: 'f', filter: { source: 'emoji-shaded', model: '/no/such/ckpt.safetensors', fraction: 0.5 } }] }, /filter\.model: filter model "\/no\/such\/ckpt\.safetensors"/],
    [{ designs: [{ name: 'f', filter: { source: 'emoji-shaded', model: 'x', fraction: 0.5, threshold: 0.2 } }] }, /designs\[0\]\(f\)\.filter: give exactly one of threshold or fraction/],
    [{ designs: [{ name: 'e', ensemble: { tw: 0.5, 'emoji-shaded': 0.5 } }, { name: 'tw', source: 'emoji-flat' }] }, /designs\[0\]\(e\)\.ensemble\.emoji-shaded: unknown design "emoji-shaded"/],
    [{ designs: [{ name: 'a', source: 'emoji-shaded' }, { name: 'a', source: 'emoji-flat' }] }, /designs\[1\]\(a\): duplicate design name "a"/],
    [{ designs: [{ name: 'a', source: 'emoji-shaded', sizes: ['s9'] }] }, /designs\[0\]\(a\)\.sizes: unknown size "s9"/],
    [{ designs: [{ name: 'a', source: 'emoji-shaded', colour: 'red' }] }, /designs\[0\]\(a\): Unrecognized key: "colour"/],
    [{ designs: [{ name: 'a' }] }, /designs\[0\]\(a\): a design needs a name and exactly one of source, mix, filter or ensemble/],
    [{ mixtures: [{ sources: ['emoji-flat', 'nope'], ratios: [0.5] }] }, /unknown source "nope"/],
    [{ sizes: [{ name: 's1', fraction: 0.5 }] }, /sizes\[0\]\(s1\): give exactly one of samples or epochs/],
    [{ analysis: { baseline: 'zzz' }, designs: [{ name: 'a', source: 'emoji-shaded' }] }, /analysis\.baseline: unknown design "zzz"/],
  ])('rejects %j', (extra, message) => {
    expect(() => plan(extra)).toThrow(message);
  });

  it('the CLI fails before any job starts, with one line naming the entry', () => {
    const dir = mkdtempSync(join(tmpdir(), 'cliplab-study-spec-'));
    const spec = join(dir, 'bad.yaml');
    writeFileSync(spec, 'testbed: {}\nmodel: ViT-Nano-8-32\nsizes: [{name: s1, fraction: 1, samples: 10}]\ndesigns:\n  - {name: x, mix: {emoji-flat: 0.7, emoji-shaded: 0.7}}\n');
    const out = join(dir, 'out');
    const r = spawnSync(process.execPath, ['bin/cliplab.js', 'study', spec, '--out', out], { cwd: repo, encoding: 'utf8' });
    expect(r.status).not.toBe(0);
    expect(r.stderr.trim().split('\n')).toEqual([`cliplab: ${spec}: designs[0](x).mix: proportions sum to 1.4, not 1`]);
    expect(existsSync(join(out, 'study.sqlite'))).toBe(false);
  });

  it('the shipped demo specs are valid', () => {
    for (const quick of [true, false]) {
      const p = planStudy(readStudySpec(demoSpecPath(quick)), '/tmp/demo-plan');
      const kinds = new Set(p.designs.map((d) => d.kind));
      expect([...kinds].sort()).toEqual(['ensemble', 'filtered', 'mixture', 'source']);
      expect(p.baseline).not.toBeNull();
    }
  });

  it('the full demo gives every design five models at five sizes, and the sources and baseline two seeds at each', () => {
    const p = planStudy(readStudySpec(demoSpecPath(false)), '/tmp/demo-plan');
    for (const d of p.designs) {
      const models = p.models.filter((m) => m.design === d.name);
      expect(models.length, d.name).toBeGreaterThanOrEqual(5);
      expect(new Set(models.map((m) => m.size.name)).size, d.name).toBeGreaterThanOrEqual(5);
      // Seed noise is several points of reference accuracy at this budget: a line needs more than one model per size.
      if (d.kind === 'source' || p.baseline?.includes(d.name)) expect(new Set(models.map((m) => m.seed)).size, d.name).toBeGreaterThanOrEqual(2);
    }
  });
});

describe('analysis.reference', () => {
  it('lets a study name its reference dataset (a study over part of a suite has no default one)', async () => {
    const { parseStudySpec } = await import('./spec.js');
    const base = { model: 'ViT-Tiny-8-64', data_root: '/d', sizes: [{ name: 's', fraction: 1, samples: 10 }] };
    expect(parseStudySpec({ ...base, analysis: { reference: 'imagenet-r' } }, 'spec.yaml', '/').spec.analysis?.reference).toBe('imagenet-r');
    expect(() => parseStudySpec({ ...base, analysis: { reference: '' } }, 'spec.yaml', '/')).toThrow(/analysis\.reference/);
  });
});
