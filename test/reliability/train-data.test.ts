// What train reads: a data directory whose writer has not finished (a dataset build killed before its manifest,
// an ingest killed before its stats, a writer still running) and a shard cut short are refused, naming the
// directory or the shard, before anything is trained; the finished directory trains.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { copyFileSync, cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildDataset } from '../../src/data/curation/build.js';
import { validateSpec } from '../../src/data/curation/spec.js';
import { ShardWriter } from '../../src/data/shards/writer.js';
import { syntheticSample } from '../../src/data/shards/synthetic.js';
import { trainClip, type TrainOptions } from '../../src/train/loop.js';
import { LOCK_FILE } from '../../src/util/dir-lock.js';
import { processIdentity } from '../../src/util/process.js';

const repo = fileURLToPath(new URL('../../', import.meta.url));
const root = mkdtempSync(join(tmpdir(), 'cliplab-train-data-'));
const src = join(root, 'src');
const opts = (data: string, out: string): TrainOptions => ({ data: [data], model: 'ViT-Nano-8-32', out: join(root, out), batchSize: 8, epochs: 1, threads: 1 });
const esc = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

beforeAll(async () => {
  const w = new ShardWriter({ dir: src, shardSize: 8 });
  for (let i = 0; i < 24; i++) await w.write(await syntheticSample(i, { size: 32 }));
  await w.close();
}, 60_000);

describe('a directory whose writer has not finished', () => {
  it('a dataset build stopped after its first shard is refused; once finished it trains', async () => {
    const out = join(root, 'half-built');
    const spec = validateSpec({ seed: 0, shardSize: 8, sources: [{ name: 'a', path: 'src' }] }, 'spec');
    const stop = new Error('stopped after one shard');
    await expect(buildDataset({ spec, baseDir: root, out, onShard: () => { throw stop; } })).rejects.toBe(stop);
    expect(readdirSync(out).filter((n) => n.endsWith('.tar'))).toEqual(['000000.tar']);
    expect(existsSync(join(out, 'manifest.json'))).toBe(false);
    await expect(trainClip(opts(out, 'run-half'))).rejects.toThrow(`${out}: holds an unfinished dataset build (.build/ and no manifest.json): rerun the same cliplab dataset build to finish it`);
    expect(existsSync(join(root, 'run-half'))).toBe(false);

    const r = spawnSync(process.execPath, ['bin/cliplab.js', 'train', '--data', out, '--model', 'ViT-Nano-8-32', '--out', join(root, 'run-cli')], { cwd: repo, encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(1);
    expect(r.stderr.trim().split('\n').filter((l) => !l.startsWith('npm warn'))).toEqual([`cliplab: ${out}: holds an unfinished dataset build (.build/ and no manifest.json): rerun the same cliplab dataset build to finish it`]);

    await buildDataset({ spec, baseDir: root, out });
    await expect(trainClip({ ...opts(out, 'run-done'), stopAfterStep: 1 })).resolves.toMatchObject({ steps: 1 });
  }, 120_000);

  it('an ingest without its stats (killed before the end) is refused', async () => {
    const out = join(root, 'half-ingest');
    mkdirSync(join(out, 'cliplab'), { recursive: true });
    copyFileSync(join(src, '000000.tar'), join(out, '000000.tar'));
    writeFileSync(join(out, 'cliplab', 'ingest.json'), '{}');
    await expect(trainClip(opts(out, 'run-ingest'))).rejects.toThrow(`${out}: holds an unfinished ingest (no cliplab/stats.json): rerun the same cliplab ingest to finish it`);
  });

  describe('a directory a live writer holds', () => {
    let holder: ChildProcess;
    beforeAll(async () => {
      holder = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { stdio: 'ignore' });
      await new Promise((r) => holder.once('spawn', r));
    });
    afterAll(() => void holder.kill('SIGKILL'));

    it('is refused, naming the writer', async () => {
      const out = join(root, 'being-written');
      cpSync(src, out, { recursive: true });
      const start = processIdentity(holder.pid!)!.split(':')[1] ?? null;
      writeFileSync(join(out, LOCK_FILE), JSON.stringify({ pid: holder.pid, start, host: hostname(), command: 'ingest', since: '2024-01-01T00:00:00.000Z', token: 't' }));
      await expect(trainClip(opts(out, 'run-live'))).rejects.toThrow(new RegExp(`^${esc(out)}: is being written by cliplab ingest \\(pid ${holder.pid}, since 2024`));
    });
  });
});

describe('a shard cut short', () => {
  it('is refused naming the shard, whether cut mid-block or on a block boundary', async () => {
    const size = statSync(join(src, '000001.tar')).size;
    for (const [name, cut, why] of [
      ['mid-block', Math.floor(size / 2) + 7, /not a whole number of 512-byte blocks/],
      ['on-block', Math.floor(size / 2 / 512) * 512, /no end-of-archive marker/],
    ] as const) {
      const dir = join(root, `cut-${name}`);
      cpSync(src, dir, { recursive: true });
      truncateSync(join(dir, '000001.tar'), cut);
      await expect(trainClip(opts(dir, `run-cut-${name}`)), name).rejects.toThrow(new RegExp(`^${esc(join(dir, '000001.tar'))}: truncated tar shard \\(.*${why.source}`));
    }
  });
});
