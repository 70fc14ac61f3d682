// Disk full, for real: ingest and train write into a small tmpfs until it is full. Each ends with one error
// naming a path under the output, leaves no temp file, and a rerun after the space is freed finishes the job
// with the same output as an uninterrupted run. Needs permission to mount a tmpfs (root); skips otherwise.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { ingest } from '../../src/data/ingest/ingest.js';
import { startTestServer, type TestServer } from '../support/ingest-server.js';
import { describeWith } from '../support/external.js';
import { ShardWriter } from '../../src/data/shards/writer.js';
import { syntheticSample } from '../../src/data/shards/synthetic.js';

const repo = fileURLToPath(new URL('../../', import.meta.url));
const root = mkdtempSync(join(tmpdir(), 'cliplab-diskfull-'));
const mnt = join(root, 'mnt');
mkdirSync(mnt);
const mount = (opts: string): boolean => spawnSync('mount', ['-t', 'tmpfs', '-o', opts, 'tmpfs', mnt], { stdio: 'ignore' }).status === 0;
const remount = (size: string): void => {
  expect(spawnSync('mount', ['-o', `remount,size=${size}`, mnt]).status).toBe(0);
};
const canMount = mount('size=4k');
if (canMount) spawnSync('umount', [mnt]);
const tmpfs = { name: 'a tmpfs mount', available: canMount, why: 'cannot mount a size-limited tmpfs here (needs root; CI runs as root)' };

/** Every file under `dir` (relative paths), recursively. */
function walk(dir: string, base = dir): string[] {
  return readdirSync(dir).flatMap((n) => {
    const p = join(dir, n);
    return statSync(p).isDirectory() ? walk(p, base) : [p.slice(base.length + 1)];
  });
}
const sha = (p: string): string => createHash('sha256').update(readFileSync(p)).digest('hex');

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer();
});
afterAll(async () => {
  spawnSync('umount', [mnt]);
  await server.close();
  rmSync(root, { recursive: true, force: true });
});

describeWith(tmpfs, 'disk full (tmpfs)', () => {
  it('ingest: one error naming the file, no temp files; after freeing space the rerun equals an uninterrupted run', async () => {
    const meta = join(root, 'meta.tsv');
    writeFileSync(meta, Array.from({ length: 24 }, (_, i) => `${server.base}/good/${i}.jpg\tpair ${i}`).join('\n') + '\n');
    const o = { source: 'cc12m' as const, metadata: meta, shardSize: 4, imageSize: 48, concurrency: 2, allowPrivateHosts: true, progress: false, timeoutMs: 5000 };
    const ref = join(root, 'ref');
    await ingest({ ...o, out: ref });
    expect(mount('size=24k')).toBe(true);
    try {
      const out = join(mnt, 'ingest');
      const err = (await ingest({ ...o, out }).catch((e: unknown) => e)) as Error;
      expect(err).toBeInstanceOf(Error);
      expect(err.message).toMatch(new RegExp(`^${out}/[^:]+: cannot write[a-z ]*: no space left on device \\(ENOSPC\\)$`));
      expect(walk(out).filter((f) => f.includes('.tmp-'))).toEqual([]);
      const before = walk(out).filter((f) => f.endsWith('.tar')).length;
      expect(before).toBeLessThan(6);
      remount('4m');
      const stats = await ingest({ ...o, out });
      const files = walk(out).filter((f) => f.endsWith('.tar')).sort();
      expect(files).toEqual(walk(ref).filter((f) => f.endsWith('.tar')).sort());
      for (const f of files) expect(sha(join(out, f)), f).toBe(sha(join(ref, f)));
      expect(stats).toMatchObject({ count: 24, successes: 24 });
    } finally {
      spawnSync('umount', [mnt]);
    }
  });

  it('train (CLI): one line naming the file and rc 1, no temp files; --resume after freeing space finishes', async () => {
    const data = join(root, 'data');
    const w = new ShardWriter({ dir: data, shardSize: 32 });
    for (let i = 0; i < 32; i++) await w.write(await syntheticSample(i, { size: 32 }));
    await w.close();
    expect(mount('size=600k')).toBe(true);
    try {
      const out = join(mnt, 'run');
      const args = ['bin/cliplab.js', 'train', '--data', data, '--model', 'ViT-Nano-8-32', '--out', out, '--batch-size', '8', '--epochs', '2', '--threads', '1', '--checkpoint-every', '1'];
      const r = spawnSync(process.execPath, args, { cwd: repo, encoding: 'utf8' });
      const lines = r.stderr.split('\n').filter((l) => l.startsWith('cliplab: '));
      expect(r.status, r.stderr).toBe(1);
      expect(lines).toHaveLength(1);
      expect(lines[0]).toMatch(new RegExp(`^cliplab: ${out}/[^:]+: cannot [a-z ]+: no space left on device \\(ENOSPC\\)$`));
      expect(r.stderr).not.toMatch(/internal error|at .*\.js:\d+/);
      expect(walk(out).filter((f) => f.includes('.tmp-'))).toEqual([]);
      remount('96m');
      const again = spawnSync(process.execPath, [...args, '--resume', '--json'], { cwd: repo, encoding: 'utf8' });
      expect(again.status, again.stderr).toBe(0);
      expect(JSON.parse(again.stdout.trim().split('\n').pop()!)).toMatchObject({ steps: 8, stopped: false });
    } finally {
      spawnSync('umount', [mnt]);
    }
  });
});
