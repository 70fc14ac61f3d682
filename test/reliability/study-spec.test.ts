// A study spec is checked before any job runs: seeds are what `cliplab train --seed` accepts, and a size's
// count is never more than the design's sources hold (it used to be clamped to the pool without a word).
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { planStudy } from '../../src/study/plan.js';
import { parseStudySpec } from '../../src/study/spec.js';
import { datasetSpecFor, JobError } from '../../src/study/jobs.js';

const repo = fileURLToPath(new URL('../../', import.meta.url));
const root = mkdtempSync(join(tmpdir(), 'cliplab-study-spec-rel-'));
// A data root with two sources of 40 and 10 pairs (sizes.json is what the planner reads).
for (const [name, n] of [['a', 40], ['b', 10]] as const) {
  mkdirSync(join(root, 'data', 'sources', name), { recursive: true });
  writeFileSync(join(root, 'data', 'sources', name, 'sizes.json'), JSON.stringify({ '000000.tar': n }));
}
writeFileSync(join(root, 'ckpt.safetensors'), ''); // a filter model path that exists
const base = { data_root: 'data', model: 'ViT-Nano-8-32', sizes: [{ name: 's', fraction: 1, samples: 10 }] };
const plan = (extra: Record<string, unknown>) => planStudy(parseStudySpec({ ...base, ...extra }, 'spec.yaml', root), join(root, 'out'));

describe('seeds', () => {
  it('a negative, fractional, unsafe or repeated seed is refused at validation, naming the key', () => {
    for (const [extra, key] of [
      [{ seeds: [-1] }, 'seeds[0]'],
      [{ seeds: [0, 1.5] }, 'seeds[1]'],
      [{ seeds: [2 ** 53] }, 'seeds[0]'],
      [{ seeds: [3, 3] }, 'seeds'],
      [{ dataset_seed: -2 }, 'dataset_seed'],
      [{ designs: [{ name: 'x', source: 'a', seeds: [-7] }] }, 'designs[0](x).seeds[0]'],
    ] as const)
      expect(() => plan(extra), JSON.stringify(extra)).toThrow(new RegExp(`^spec\\.yaml: ${key.replace(/[.[\]()]/g, '\\$&')}: `));
  });

  it('the CLI says so in one line and starts nothing', () => {
    const spec = join(root, 'neg.yaml');
    writeFileSync(spec, 'data_root: data\nmodel: ViT-Nano-8-32\nseeds: [-1]\nsizes: [{name: s, fraction: 1, samples: 10}]\n');
    const out = join(root, 'cli-out');
    const r = spawnSync(process.execPath, ['bin/cliplab.js', 'study', spec, '--out', out], { cwd: repo, encoding: 'utf8' });
    expect(r.status).toBe(1);
    const lines = r.stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(new RegExp(`^cliplab: ${spec}: seeds\\[0\\]: `));
    expect(existsSync(join(out, 'study.sqlite'))).toBe(false);
  });
});

describe('a size count above the pool', () => {
  it('is refused when planning, for a source, a mixture and a filtered design', () => {
    const sizes = (count: number) => [{ name: 'big', count, samples: 10 }];
    expect(() => plan({ sizes: sizes(41), designs: [{ name: 'x', source: 'a' }] })).toThrow('spec.yaml: sizes(big).count: count 41 for design "x" is more than its sources hold (40 pairs)');
    expect(plan({ sizes: sizes(40), designs: [{ name: 'x', source: 'a' }] }).designs).toHaveLength(1);
    // b holds 10 at a half share: at most 20 in all.
    expect(() => plan({ sizes: sizes(21), designs: [{ name: 'm', mix: { a: 0.5, b: 0.5 } }] })).toThrow('count 21 for design "m" is more than its sources hold (20 pairs at its proportions)');
    expect(() => plan({ sizes: sizes(21), designs: [{ name: 'f', filter: { source: 'a', model: 'ckpt.safetensors', fraction: 0.5 } }] })).toThrow(/count 21 for design "f" is more than its sources hold \(20 pairs kept by its filter\)/);
  });

  it('sources the study builds itself are checked when its data job runs, not clamped', () => {
    const p = plan({ sizes: [{ name: 'big', count: 30, samples: 10 }], designs: [{ name: 'x', source: 'a' }] });
    // The source shrinks to 12 pairs before the data job runs (as a testbed source is only known then).
    writeFileSync(join(root, 'data', 'sources', 'a', 'sizes.json'), JSON.stringify({ '000000.tar': 12 }));
    try {
      const ctx = { plan: p, layout: { run: (id: string) => join(root, 'out', id) } } as never;
      let err: unknown;
      try {
        datasetSpecFor(ctx, p.designs[0]!, 'big', root);
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(JobError);
      expect((err as Error).message).toBe('count 30 for design "x" is more than its sources hold (12 pairs)');
    } finally {
      writeFileSync(join(root, 'data', 'sources', 'a', 'sizes.json'), JSON.stringify({ '000000.tar': 40 }));
    }
  });
});
