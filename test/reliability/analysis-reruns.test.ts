// Reruns into a results or analysis directory must not mix old output with new: results of one model from two
// different weights are refused (an eval rerun after retraining over fewer datasets leaves the old files), and
// an analysis rerun leaves no file of the earlier analysis beside the new one, while files the user put there stay.
import { existsSync, mkdirSync, mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { analyze } from '../../src/analysis/analyze.js';
import { writeAnalysis } from '../../src/analysis/write-analysis.js';
import { readResults } from '../../src/eval/result.js';
import { writeResults } from '../../src/eval/write.js';
import { syntheticResults } from '../support/synthetic-results.js';

const root = mkdtempSync(join(tmpdir(), 'cliplab-analysis-reruns-'));
const SHIFTS = ['emojione-monotone', 'fluent-emoji-high-contrast', 'noto-v1-rotated'];

describe('results of replaced weights', () => {
  it('are refused: one model with two weights_sha256 values names the model and both files', async () => {
    const dir = join(root, 'results');
    const old = syntheticResults().map((r) => ({ ...r, provenance: { weights_sha256: 'a'.repeat(64) } }));
    await writeResults(dir, old);
    // twemoji-s1 retrained and evaluated again on the reference alone: its shift files are from the old weights.
    const again = old.find((r) => r.model === 'twemoji-s1' && r.dataset === 'noto-v1')!;
    await writeResults(dir, [{ ...again, provenance: { weights_sha256: 'b'.repeat(64) } }]);
    const results = readResults([dir]);
    const fresh = join(dir, 'twemoji-s1__noto-v1.json');
    const stale = join(dir, 'twemoji-s1__emojione-monotone.json');
    let message = '';
    try {
      analyze(results, { resamples: 20 });
    } catch (e) {
      message = (e as Error).message;
    }
    expect(message.split('\n')).toHaveLength(1);
    expect(message).toContain('model twemoji-s1');
    expect(message).toContain(fresh);
    expect(message).toContain(stale);
    expect(message).toMatch(/b{12}.*a{12}|a{12}.*b{12}/);
    // Results that do not record their weights (other tools') are not compared.
    expect(() => analyze(results.map((r) => ({ ...r, result: { ...r.result, provenance: {} } })), { resamples: 20 })).not.toThrow();
  });
});

describe('an analysis rerun', () => {
  it('leaves no file of the earlier analysis beside the new one; the user’s files stay', async () => {
    const out = join(root, 'analysis');
    const first = analyze(
      syntheticResults({ shifts: SHIFTS }).map((result, i) => ({ file: `/r/${i}.json`, result })),
      { resamples: 20 },
    );
    await writeAnalysis(out, first, { png: true });
    expect(existsSync(join(out, 'plots', 'scatter-noto-v1-rotated.svg'))).toBe(true);
    writeFileSync(join(out, 'notes.txt'), 'mine');
    writeFileSync(join(out, 'plots', 'my-figure.png'), 'mine');
    // The rerun's results lack the rotated shift, and it writes SVG only.
    const second = analyze(
      syntheticResults({ shifts: SHIFTS.slice(0, 2), shiftOffsets: [-0.5, -0.2] }).map((result, i) => ({ file: `/r/${i}.json`, result })),
      { resamples: 20 },
    );
    const written = await writeAnalysis(out, second, { png: false });
    const plots = readdirSync(join(out, 'plots')).sort();
    expect(plots).not.toContain('scatter-noto-v1-rotated.svg');
    expect(plots.filter((f) => f.endsWith('.png'))).toEqual(['my-figure.png']);
    expect(plots.filter((f) => f.endsWith('.svg'))).toEqual(written.plots.map((p) => p.slice(join(out, 'plots').length + 1)).sort());
    expect(existsSync(join(out, 'notes.txt'))).toBe(true);
    expect(existsSync(join(out, 'robustness.json'))).toBe(true);
  });

  it('refuses a record of written files that points outside its directory, and removes nothing', async () => {
    const out = join(root, 'tampered');
    mkdirSync(out, { recursive: true });
    writeFileSync(join(root, 'outside.txt'), 'keep');
    writeFileSync(join(out, '.cliplab-analysis.json'), JSON.stringify({ files: ['../outside.txt'] }));
    const r = analyze(syntheticResults().map((result, i) => ({ file: `/r/${i}.json`, result })), { resamples: 20 });
    await expect(writeAnalysis(out, r, { png: false })).rejects.toThrow(new RegExp(`^${join(out, '.cliplab-analysis.json')}: .*\\.\\./outside\\.txt`));
    expect(existsSync(join(root, 'outside.txt'))).toBe(true);
  });
});
