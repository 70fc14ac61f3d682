import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readResults } from '../../eval/result.js';
import { writeJsonAtomic } from '../../util/fs.js';
import { analyze } from '../analyze.js';
import { SYNTHETIC_DESIGNS, syntheticResults } from '../../../test/support/synthetic-results.js';
import { writeAnalysis } from '../write-analysis.js';
import { serveReport } from './serve.js';

async function waitFor(pred: () => Promise<boolean>, ms = 15_000): Promise<void> {
  const t0 = Date.now();
  while (Date.now() - t0 < ms) {
    if (await pred()) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error('timed out');
}

describe('serve', () => {
  it('serves the report on 127.0.0.1 and refreshes when a result file is added', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'cliplab-serve-'));
    const results = join(dir, 'results');
    const designs = SYNTHETIC_DESIGNS.filter((d) => ['baseline', 'twemoji', 'openmoji'].includes(d.name));
    for (const r of syntheticResults({ designs })) await writeJsonAtomic(join(results, `${r.model}__${r.dataset}.json`), r);
    const out = join(dir, 'analysis');
    await writeAnalysis(out, analyze(readResults([results]), { resamples: 100, inputPaths: [results] }), { png: false });

    const server = await serveReport({ dir: out, port: 0, pollMs: 100 });
    try {
      expect(server.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/$/);
      const page1 = await (await fetch(server.url)).text();
      expect(page1).toContain('twemoji-s1');
      expect(page1).not.toContain('newcomer');
      expect(page1).toContain('id="live" data-version="1"');
      const v1 = ((await (await fetch(`${server.url}version`)).json()) as { version: number }).version;

      // A new design's results arrive.
      const more = syntheticResults({ designs: [{ ...designs[1]!, name: 'newcomer' }], seed: 5 });
      for (const r of more) await writeJsonAtomic(join(results, `${r.model}__${r.dataset}.json`), r);
      // Files land one by one and the server may refresh in between: wait until all four models are complete.
      await waitFor(async () => {
        const j = (await (await fetch(`${server.url}robustness.json`)).json()) as { models: { model: string; dataset: string }[] };
        return j.models.filter((m) => m.model.startsWith('newcomer') && m.dataset === 'average').length === 4;
      }, 30_000);
      expect(server.version()).toBeGreaterThan(v1);
      const page2 = await (await fetch(server.url)).text();
      expect(page2).toContain('newcomer-s1');
      expect(page2).not.toContain('class="error"');

      // A malformed file: the last good report stays, with the error shown.
      const v2 = server.version();
      await writeJsonAtomic(join(results, 'broken.json'), { model: 'x', design: 'y', dataset: 'noto-v1' });
      await waitFor(async () => server.version() > v2, 30_000);
      const page3 = await (await fetch(server.url)).text();
      expect(page3).toMatch(/class="error"[^>]*>Could not refresh the report: .*broken\.json: missing field metrics/);
      expect(page3).toContain('newcomer-s1');
      expect((await fetch(`${server.url}nope`)).status).toBe(404);
    } finally {
      await server.close();
    }
  });
});
