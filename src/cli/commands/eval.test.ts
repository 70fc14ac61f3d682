// `cliplab eval` and `cliplab bench eval` end to end: spawns the built CLI (`npm test` builds dist/ first) on a tiny
// testbed and a randomly initialised ViT-Tiny checkpoint with the run files training writes.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initClip, stateDictShapes } from '../../models/clip.js';
import { writeCheckpoint } from '../../models/checkpoint.js';
import { loadModelConfig } from '../../models/config.js';
import type { NamedTensor } from '../../models/safetensors.js';
import { readResults, type Result } from '../../eval/result.js';

const repo = fileURLToPath(new URL('../../../', import.meta.url));

function cliplab(...args: string[]) {
  return spawnSync(process.execPath, ['bin/cliplab.js', ...args], { cwd: repo, encoding: 'utf8', env: { ...process.env, CLIPLAB_QUIET: '1' } });
}

let root: string;
let testbed: string;
const runs: string[] = [];

async function writeRun(dir: string, seed: number, samples: number): Promise<void> {
  const cfg = loadModelConfig('ViT-Tiny-8-64');
  const shapes = stateDictShapes(cfg);
  const tensors = new Map<string, NamedTensor>();
  for (const [name, data] of initClip(cfg, seed)) tensors.set(name, { dtype: 'F32', shape: shapes.get(name)!, data });
  await writeCheckpoint(dir, tensors, cfg);
  writeFileSync(join(dir, 'params.json'), JSON.stringify({ seed, data: ['x'] }));
  writeFileSync(join(dir, 'summary.json'), JSON.stringify({ samples_seen: samples, seed }));
}

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'cliplab-eval-cli-'));
  testbed = join(root, 'testbed');
  const b = cliplab('testbed', 'build', '--out', testbed, '--concepts', '6', '--views', '1', '--eval-views', '2', '--eval-views-full', '1', '--image-size', '16');
  expect(b.status, b.stderr).toBe(0);
  for (const [i, seed] of [1, 2].entries()) {
    const run = join(root, `run${i}`);
    await writeRun(run, seed, 1000 * (i + 1));
    runs.push(run);
  }
}, 180_000);
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe('cliplab eval', () => {
  let suite: Result[];

  it('evaluates the testbed suite into a directory, with provenance and a head cache', () => {
    const out = join(root, 'results');
    const r = cliplab('eval', '--model', runs[0]!, '--suite', 'testbed', '--data-root', testbed, '--out', out, '--design', 'twemoji', '--json');
    expect(r.status, r.stderr).toBe(0);
    suite = r.stdout.trim().split('\n').map((l) => JSON.parse(l) as Result);
    expect(suite.map((x) => x.dataset).sort()).toEqual(['emojione-monotone', 'fluent-emoji-high-contrast', 'noto-v1', 'noto-v1-distorted']);
    const loaded = readResults([out]);
    expect(loaded).toHaveLength(4);
    const ref = loaded.find((l) => l.result.dataset === 'noto-v1')!.result;
    expect(ref).toMatchObject({ model: 'run0', design: 'twemoji', samples_seen: 1000, seed: 1, suite: 'testbed', reference: true, n: 12 });
    expect(ref.classes).toMatchObject({ id: 'testbed-6', count: 6 });
    expect(Object.keys(ref.per_class!)).toHaveLength(6);
    const prov = ref.provenance as { templates: { name: string }; weights_sha256: string; logit_scale: number };
    expect(prov.templates.name).toBe('emoji');
    expect(prov.weights_sha256).toMatch(/^[0-9a-f]{64}$/);
    expect(prov.logit_scale).toBe(100);
    expect(readdirSync(join(runs[0]!, '.cliplab-cache', 'zeroshot-heads')).filter((f) => f.endsWith('.f32'))).toHaveLength(1);
  });

  it('gives the same numbers on one ImageFolder (from the cached head) into a single file', () => {
    const out = join(root, 'one.json');
    const r = cliplab('eval', '--model', join(runs[0]!, 'model.safetensors'), '--imagefolder', join(testbed, 'eval', 'noto-v1'), '--out', out);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^noto-v1: acc1 /);
    const one = JSON.parse(readFileSync(out, 'utf8')) as Result;
    const ref = suite.find((x) => x.dataset === 'noto-v1')!;
    expect(one.metrics).toEqual(ref.metrics);
    expect(one.per_class).toEqual(ref.per_class);
    expect((one.provenance as { templates: { name: string } }).templates.name).toBe('emoji');
  });

  it('adds the -full sets with --full, not flagged reference', () => {
    const r = cliplab('eval', '--model', runs[0]!, '--suite', 'testbed', '--data-root', testbed, '--out', join(root, 'full'), '--full', '--json');
    expect(r.status, r.stderr).toBe(0);
    const all = r.stdout.trim().split('\n').map((l) => JSON.parse(l) as Result);
    expect(all).toHaveLength(8);
    const full = all.find((x) => x.dataset === 'noto-v1-full')!;
    expect(full.reference).toBe(false);
    expect((full.classes as { id: string }).id).toMatch(/^testbed-full-\d+$/);
    expect(all.filter((x) => x.reference).map((x) => x.dataset)).toEqual(['noto-v1']);
  });

  it('mixes outputs of an ensemble', () => {
    const out = join(root, 'ens');
    const r = cliplab('eval', '--model', runs[0]!, '--ensemble', `${runs[0]}:0.5,${runs[1]}:0.5`, '--imagefolder', join(testbed, 'eval', 'noto-v1'), '--out', out, '--no-cache');
    expect(r.status, r.stderr).toBe(0);
    const [res] = readResults([out]);
    expect(res!.result.model).toBe('ensemble(run0:0.5,run1:0.5)');
    expect(res!.result.samples_seen).toBe(3000);
    expect(res!.result.design_info).toMatchObject({ kind: 'ensemble', members: [{ model: 'run0', weight: 0.5 }, { model: 'run1', weight: 0.5 }] });
  });

  it('rejects bad input with a one-line error naming it', () => {
    const cases: [string[], RegExp][] = [
      [['--suite', 'testbed', '--data-root', testbed, '--out', join(root, 'x')], /--model: required/],
      [['--model', runs[0]!, '--imagefolder', join(root, 'nope'), '--out', join(root, 'x')], /nope: no such directory/],
      [['--model', runs[0]!, '--suite', 'testbed', '--data-root', testbed, '--out', join(root, 'x.json')], /--out: 4 datasets give 4 results/],
      [['--model', runs[0]!, '--suite', 'imagenet', '--data-root', testbed, '--out', join(root, 'x')], /no ImageNet-suite dataset here/],
      [['--model', runs[0]!, '--suite', 'bogus', '--data-root', testbed, '--out', join(root, 'x')], /--suite: expected one of testbed\|imagenet/],
      [['--model', runs[0]!, '--imagefolder', testbed, '--templates', join(root, 'missing.txt'), '--out', join(root, 'x')], /missing\.txt: no such template file/],
      [['--model', runs[1]!, '--ensemble', `${runs[0]}:1,${runs[1]}:x`, '--imagefolder', testbed, '--out', join(root, 'x')], /--ensemble: .*run1:x/],
      [['--model', join(root, 'norun'), '--imagefolder', testbed, '--out', join(root, 'x')], /norun: no such file or directory/],
    ];
    for (const [args, want] of cases) {
      const r = cliplab('eval', ...args);
      expect(r.status, args.join(' ')).toBe(1);
      expect(r.stderr.trim().split('\n'), r.stderr).toHaveLength(1);
      expect(r.stderr).toMatch(want);
    }
    expect(existsSync(join(root, 'x.json'))).toBe(false);
  });
});

describe('cliplab bench eval', () => {
  it('prints one JSON line with images_per_s', () => {
    const r = cliplab('bench', 'eval', '--model', 'ViT-Tiny-8-64', '--batch-size', '16', '--steps', '2', '--threads', '1');
    expect(r.status, r.stderr).toBe(0);
    const lines = r.stdout.trim().split('\n');
    expect(lines).toHaveLength(1);
    const j = JSON.parse(lines[0]!) as { bench: string; images_per_s: number; batch_size: number; model: string };
    expect(j).toMatchObject({ bench: 'eval', batch_size: 16, model: 'ViT-Tiny-8-64' });
    expect(j.images_per_s).toBeGreaterThan(0);
  });
});
