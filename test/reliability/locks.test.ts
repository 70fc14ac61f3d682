// One writer per output directory: every command that writes a directory refuses while another live process
// holds it (naming that process), writes nothing there meanwhile, and the CLI (built: `npm test` builds dist/
// first) says so in one line with rc 1.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LOCK_FILE } from '../../src/util/dir-lock.js';
import { processIdentity } from '../../src/util/process.js';
import { trainClip } from '../../src/train/loop.js';
import { buildDataset } from '../../src/data/curation/build.js';
import { ingest } from '../../src/data/ingest/ingest.js';
import { buildTestbed } from '../../src/data/testbed/build.js';
import { exportOnnx } from '../../src/models/export.js';
import type { LoadedModel } from '../../src/models/load.js';
import { evaluateZeroShot } from '../../src/eval/zeroshot-eval.js';
import { runStudy } from '../../src/study/run-study.js';
import { parseStudySpec } from '../../src/study/spec.js';
import { scoreDataset } from '../../src/data/curation/score-dataset.js';
import { validateSpec } from '../../src/data/curation/spec.js';
import { corruptFolder } from '../../src/eval/corrupt-folder.js';
import { addCorruptionShift } from '../../src/data/testbed/corruption-shift.js';
import { ShardWriter } from '../../src/data/shards/writer.js';
import { syntheticSample } from '../../src/data/shards/synthetic.js';

const repo = fileURLToPath(new URL('../../', import.meta.url));
let holder: ChildProcess;
let scratch: string;

beforeAll(async () => {
  holder = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { stdio: 'ignore' });
  await new Promise((r) => holder.once('spawn', r));
  scratch = mkdtempSync(join(tmpdir(), 'cliplab-locks-'));
});
afterAll(() => {
  holder.kill('SIGKILL');
});

/** A fresh directory held by the live `holder` process. */
function heldDir(name: string): string {
  const dir = join(scratch, name);
  mkdirSync(dir, { recursive: true });
  const start = processIdentity(holder.pid!)!.split(':')[1] ?? null;
  writeFileSync(join(dir, LOCK_FILE), JSON.stringify({ pid: holder.pid, start, host: hostname(), command: 'train', since: '2024-01-01T00:00:00.000Z', token: 'x' }));
  return dir;
}

const refused = (dir: string) => new RegExp(`${dir.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: another cliplab train \\(pid ${holder.pid}, since 2024`);

describe('every directory writer refuses a directory another process is writing', () => {
  it('train, dataset build, dataset score, ingest, testbed build, eval, corrupt, corrupt --testbed, export, study', async () => {
    const shards = join(scratch, 'shards');
    const w = new ShardWriter({ dir: shards, shardSize: 2 });
    for (let i = 0; i < 2; i++) await w.write(await syntheticSample(i, { size: 8 }));
    await w.close();
    const cases: [string, (dir: string) => Promise<unknown>][] = [
      ['train', (dir) => trainClip({ out: dir, data: [join(scratch, 'no-data')], model: 'ViT-Tiny-8-64' })],
      ['dataset', (dir) => buildDataset({ spec: { seed: 0, sources: [{ name: 'a', path: 'nowhere' }] } as never, baseDir: scratch, out: dir })],
      ['ingest', (dir) => {
        const meta = join(scratch, 'm.tsv');
        writeFileSync(meta, 'http://example.invalid/a.jpg\tcap\n');
        return ingest({ source: 'cc12m', metadata: meta, out: dir, progress: false });
      }],
      ['testbed', (dir) => buildTestbed({ out: dir, concepts: 2 })],
      ['score', (dir) => scoreDataset({ spec: validateSpec({ seed: 0, sources: [{ name: 'a', path: 'shards' }], filters: { clipScore: { checkpoint: 'none', threshold: 0.2, scores: dir } } }, 'spec'), baseDir: scratch })],
      ['corrupt', (dir) => corruptFolder({ input: join(scratch, 'nothing'), out: dir })],
      ['corrupt-testbed', (dir) => addCorruptionShift(dir)],
      ['eval', (dir) => evaluateZeroShot({ out: dir, imagefolder: join(scratch, 'nothing') })],
      ['export', (dir) => exportOnnx({} as LoadedModel, dir)],
      ['study', (dir) => runStudy({ spec: parseStudySpec({ model: 'ViT-Tiny-8-64', testbed: { concepts: 2 }, sizes: [{ name: 's', fraction: 1, samples: 10 }] }, 'spec', scratch), out: dir })],
    ];
    for (const [name, run] of cases) {
      const dir = heldDir(name);
      await expect(run(dir), name).rejects.toThrow(refused(dir));
      expect(readdirSync(dir), name).toEqual([LOCK_FILE]);
    }
  });

  it('the CLI prints one line naming the directory and the holder, and exits 1 (analyze, theory, train)', () => {
    for (const args of [['analyze', join(scratch, 'none'), '--out'], ['theory', '--out'], ['train', '--data', join(scratch, 'none'), '--model', 'ViT-Tiny-8-64', '--out']]) {
      const dir = heldDir(`cli-${args[0]}`);
      const r = spawnSync(process.execPath, ['bin/cliplab.js', ...args, dir], { cwd: repo, encoding: 'utf8' });
      const lines = r.stderr.split('\n').filter((l) => l.trim() !== '' && !l.startsWith('npm warn'));
      expect(r.status, r.stderr).toBe(1);
      expect(lines, args[0]).toHaveLength(1);
      expect(lines[0]).toMatch(refused(dir));
    }
  });
});
