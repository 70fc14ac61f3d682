import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { analyze } from './analyze.js';
import { normalCdf } from './normal.js';
import { writeSyntheticResults } from '../../test/support/synthetic-results.js';

// Runs the CLI from source (tsx), so these tests do not depend on a fresh `dist/`.
function cli(...args: string[]): { code: number; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', '--quiet', ...args], { encoding: 'utf8', timeout: 120_000 });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

let dir: string;
beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'cliplab-analyze-cli-'));
  await writeSyntheticResults(join(dir, 'results'));
});

describe('cliplab analyze / report / theory', () => {
  it('analyze writes robustness.json, CSV, Markdown and plots; report writes one HTML file', () => {
    const out = join(dir, 'out');
    const r = cli('analyze', join(dir, 'results'), '--out', out, '--baseline', 'baseline', '--resamples', '100', '--json');
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const json = JSON.parse(r.stdout) as { transform: string; reference: string; lines: unknown[]; models: { effectiveRobustness: number | null }[] };
    expect(json.transform).toBe('probit');
    expect(json.reference).toBe('noto-v1');
    expect(json.models.every((m) => typeof m.effectiveRobustness === 'number')).toBe(true);
    for (const f of ['robustness.json', 'robustness.md', 'lines.csv', 'models.csv', 'designs.csv', 'dilution.csv', 'size-scaling.csv', 'plots/scatter-average.svg', 'plots/scatter-average.png', 'plots/er-bars.png', 'plots/mixing.png'])
      expect(existsSync(join(out, f)), f).toBe(true);
    expect(readFileSync(join(out, 'lines.csv'), 'utf8').split('\n')[0]).toBe('design,dataset,slope,slope 95% CI,intercept,intercept 95% CI,R²,n');
    const rep = cli('report', '--in', out, '--out', join(dir, 'report.html'));
    expect(rep.code).toBe(0);
    expect(readFileSync(join(dir, 'report.html'), 'utf8')).toContain('<svg');
  });

  it('takes the baseline from a file of (reference, shift) accuracy pairs', () => {
    const pairs = [[-1, -1.8], [0, -0.9], [1, 0.1]];
    const csv = ['dataset,acc_reference,acc_shift,n']
      .concat(['emojione-monotone', 'fluent-emoji-high-contrast', 'noto-v1-rotated', 'average'].flatMap((d) => pairs.map(([x, y]) => `${d},${normalCdf(x!)},${normalCdf(y!)},10000`)))
      .join('\n');
    writeFileSync(join(dir, 'pairs.csv'), csv);
    const r = cli('analyze', join(dir, 'results'), '--out', join(dir, 'out2'), '--baseline', join(dir, 'pairs.csv'), '--resamples', '50', '--no-png', '--json');
    expect(r.code).toBe(0);
    const json = JSON.parse(r.stdout) as { baseline: { source: string; lines: { dataset: string; slope: number; intercept: number }[] } };
    expect(json.baseline.source).toBe('file');
    const l = json.baseline.lines.find((x) => x.dataset === 'average')!;
    expect(l.slope).toBeCloseTo(0.95, 6);
    expect(l.intercept).toBeCloseTo(-0.8667, 3);
  });

  it('rejects a malformed result with a one-line error naming the file', () => {
    const bad = join(dir, 'results', 'zz-bad.json');
    writeFileSync(bad, JSON.stringify({ model: 'm', design: 'd', dataset: 'noto-v1', metrics: { acc5: 0.5, mean_per_class_recall: 0.4 }, n: 10, samples_seen: 1, seed: 0 }));
    const r = cli('analyze', join(dir, 'results'), '--out', join(dir, 'out3'));
    expect(r.code).toBe(1);
    expect(r.stderr.trim()).toBe(`cliplab: ${bad}: missing field metrics.acc1`);
    const t = cli('analyze', join(dir, 'results'), '--out', join(dir, 'out3'), '--transform', 'cloglog');
    expect(t.code).toBe(1);
    expect(t.stderr).toMatch(/--transform: expected one of probit\|logit, got 'cloglog'/);
    for (const [flag, value, msg] of [['--resamples', '0', /--resamples: expected a positive integer, got '0'/], ['--seed', '-1', /--seed: expected an integer >= 0, got '-1'/]] as const) {
      const x = cli('analyze', join(dir, 'results'), '--out', join(dir, 'out3'), flag, value);
      expect(x.code).toBe(1);
      expect(x.stderr.trim().split('\n')).toHaveLength(1);
      expect(x.stderr).toMatch(msg);
    }
    // The library checks its options against the same table.
    expect(() => analyze([], { resamples: 0.5 })).toThrow(/--resamples: expected a positive integer, got 0.5/);
  });
});
