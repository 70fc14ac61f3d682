// Reruns into a results directory must not mix old output with new: results of one model from two different
// weights are refused (an eval rerun after retraining over fewer datasets leaves the old files).
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { analyze } from '../../src/analysis/analyze.js';
import { readResults } from '../../src/eval/result.js';
import { writeResults } from '../../src/eval/write.js';
import { syntheticResults } from '../support/synthetic-results.js';

const root = mkdtempSync(join(tmpdir(), 'cliplab-analysis-reruns-'));

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
