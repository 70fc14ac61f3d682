import { mkdtempSync, mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { InputError } from '../util/errors.js';
import { readResults } from './result.js';

const good = (over: Record<string, unknown> = {}): Record<string, unknown> => ({
  model: 'm1',
  design: 'd1',
  dataset: 'noto-v1',
  task: 'zeroshot_classification',
  metrics: { acc1: 0.3, acc5: 0.6, mean_per_class_recall: 0.29 },
  n: 1000,
  samples_seen: 50000,
  seed: 0,
  classes: { id: 'testbed-100', count: 100 },
  design_info: { kind: 'source', sources: { twemoji: 1 }, size: 5000 },
  ...over,
});

function dir(): string {
  return mkdtempSync(join(tmpdir(), 'cliplab-result-'));
}

describe('readResults', () => {
  it('reads files and directories recursively, skipping non-result JSON in directories', () => {
    const d = dir();
    mkdirSync(join(d, 'sub'));
    writeFileSync(join(d, 'a.json'), JSON.stringify(good()));
    writeFileSync(join(d, 'sub', 'b.json'), JSON.stringify(good({ dataset: 'shift' })));
    writeFileSync(join(d, 'sub', 'manifest.json'), JSON.stringify({ shards: [] }));
    const skipped: string[] = [];
    const rs = readResults([d], { onSkip: (f) => skipped.push(f) });
    expect(rs.map((r) => r.result.dataset).sort()).toEqual(['noto-v1', 'shift']);
    expect(skipped).toEqual([join(d, 'sub', 'manifest.json')]);
    expect(rs[0]!.result.design_info?.kind).toBe('source');
  });
  it('rejects a missing metric naming the file and the field', () => {
    const d = dir();
    const f = join(d, 'bad.json');
    const r = good();
    delete (r.metrics as Record<string, unknown>).acc5;
    writeFileSync(f, JSON.stringify(r));
    expect(() => readResults([d])).toThrow(InputError);
    expect(() => readResults([d])).toThrow(`${f}: missing field metrics.acc5`);
  });
  it('rejects percentages, bad JSON and duplicates, naming the file', () => {
    const d = dir();
    const f = join(d, 'pct.json');
    writeFileSync(f, JSON.stringify(good({ metrics: { acc1: 45, acc5: 0.6, mean_per_class_recall: 0.3 } })));
    expect(() => readResults([f])).toThrow(/pct\.json: field metrics\.acc1 = 45 is not a fraction/);
    const g = join(d, 'broken.json');
    writeFileSync(g, '{ "model": ');
    expect(() => readResults([g])).toThrow(/broken\.json: not valid JSON/);
    const d2 = dir();
    writeFileSync(join(d2, 'x.json'), JSON.stringify(good()));
    writeFileSync(join(d2, 'y.json'), JSON.stringify(good()));
    expect(() => readResults([d2])).toThrow(/y\.json: model m1 on noto-v1 \(classes testbed-100#100\) is also in .*x\.json/);
    expect(() => readResults([join(d2, 'nope')])).toThrow(/no such file/);
    // The same pair on another class subset is a different result.
    writeFileSync(join(d2, 'y.json'), JSON.stringify(good({ classes: { id: 'all', count: 1177 } })));
    expect(readResults([d2])).toHaveLength(2);
  });
});
