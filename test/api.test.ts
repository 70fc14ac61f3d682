// The package's public API as a user imports it: `import … from 'cliplab'` resolves to the built entry point
// (dist/, built by `npm test`), exposes each stage's entry function, and nothing below the entry is importable.
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { golden } from './support/golden.js';

const repo = fileURLToPath(new URL('..', import.meta.url));
const ENTRY_POINTS = ['buildTestbed', 'ingest', 'buildDataset', 'openLoader', 'getTokenizer', 'loadClipModel', 'readSafetensors', 'trainClip', 'evaluateZeroShot', 'analyze', 'runTheory', 'readStudySpec', 'planStudy', 'runStudy'];

function node(script: string): { status: number | null; stdout: string; stderr: string } {
  return spawnSync(process.execPath, ['--input-type=module', '-e', script], { cwd: repo, encoding: 'utf8' });
}

describe("import from 'cliplab'", () => {
  it('exposes every stage as a function, and the tokenizer agrees with OpenCLIP on a golden case', () => {
    const c = (JSON.parse(readFileSync(golden('tokenizer', 'cases.json'), 'utf8')) as { text: string; ids: number[] }[])[7]!;
    const r = node(`const m = await import('cliplab');
      console.log(JSON.stringify({ kinds: ${JSON.stringify(ENTRY_POINTS)}.map((n) => typeof m[n]), ids: Array.from(m.getTokenizer().tokenize([${JSON.stringify(c.text)}]), Number) }));`);
    expect(r.status, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout) as { kinds: string[]; ids: number[] };
    expect(Object.fromEntries(ENTRY_POINTS.map((n, i) => [n, out.kinds[i]]))).toEqual(Object.fromEntries(ENTRY_POINTS.map((n) => [n, 'function'])));
    expect(out.ids).toEqual(c.ids);
  });

  it('refuses deep imports of internal modules', () => {
    const r = node(`await import('cliplab/dist/train/loop.js');`);
    expect(r.status).not.toBe(0);
    expect(r.stderr).toMatch(/ERR_PACKAGE_PATH_NOT_EXPORTED/);
  });

  it('ships type declarations: a TypeScript user is type-checked against the real signatures', { timeout: 120_000 }, () => {
    const dir = join(repo, '.cache', `api-consumer-${process.pid}`);
    mkdirSync(dir, { recursive: true });
    try {
      const tsc = (body: string) => {
        writeFileSync(join(dir, 'use.ts'), `import { ${ENTRY_POINTS.join(', ')}, type TrainOptions } from 'cliplab';\n${body}\n`);
        return spawnSync(process.execPath, [join(repo, 'node_modules', 'typescript', 'bin', 'tsc'), '--noEmit', '--strict', '--skipLibCheck', '--module', 'nodenext', '--moduleResolution', 'nodenext', '--types', 'node', join(dir, 'use.ts')], { cwd: repo, encoding: 'utf8' });
      };
      const good = tsc(`const o: TrainOptions = { data: ['shards'], out: 'run' };\nconst r: Promise<{ run: string }> = trainClip(o);\nvoid r; void [${ENTRY_POINTS.join(', ')}];`);
      expect(good.status, good.stdout).toBe(0);
      const bad = tsc(`void trainClip({ data: ['shards'], out: 'run', batchSize: 'big' });`);
      expect(bad.status).not.toBe(0);
      expect(bad.stdout).toMatch(/use\.ts\(2,\d+\): error TS2322: Type 'string' is not assignable to type 'number'/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
