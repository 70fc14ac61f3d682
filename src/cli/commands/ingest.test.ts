// `cliplab ingest` end to end: spawns the built CLI (`npm test` builds dist/ first), kills it after its first
// shard, reruns it, and checks the shards equal an uninterrupted run's; flags and one-line errors.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ingest } from '../../data/ingest/index.js';
import { startTestServer, type TestServer } from '../../../test/support/ingest-server.js';
import { shardHashes } from '../../../test/support/ingest-helpers.js';

const repo = fileURLToPath(new URL('../../../', import.meta.url));

interface Run {
  status: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Runs the CLI asynchronously (the test server lives in this process); `killWhen` polls and SIGKILLs. */
function cliplab(args: string[], killWhen?: () => boolean): Promise<Run> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['bin/cliplab.js', ...args], { cwd: repo, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    const poll = killWhen
      ? setInterval(() => {
          if (killWhen()) child.kill('SIGKILL');
        }, 5)
      : undefined;
    child.on('close', (status, signal) => {
      if (poll) clearInterval(poll);
      resolve({ status, signal, stdout, stderr });
    });
  });
}

let server: TestServer;
let dir: string;
beforeAll(async () => {
  server = await startTestServer({ goodDelayMs: 60 });
  dir = await mkdtemp(join(tmpdir(), 'cliplab-ingest-cli-'));
});
afterAll(async () => {
  await server.close();
  await rm(dir, { recursive: true, force: true });
});

describe('cliplab ingest', () => {
  it('killed after its first shard and rerun, gives the same shards as an uninterrupted run', async () => {
    const meta = join(dir, 'cc12m.tsv');
    const urls = Array.from({ length: 15 }, (_, i) => (i % 5 === 4 ? `${server.base}/404/k${i}.jpg` : `${server.base}/good/${200 + i}.jpg`));
    await writeFile(meta, urls.map((u, i) => `${u}\tpair ${i}`).join('\n') + '\n');
    const flags = ['--source', 'cc12m', '--metadata', meta, '--shard-size', '3', '--concurrency', '1', '--image-size', '32', '--timeout-ms', '2000', '--retries', '1', '--allow-private-hosts'];

    const full = join(dir, 'full');
    await ingest({ source: 'cc12m', metadata: meta, out: full, shardSize: 3, concurrency: 1, imageSize: 32, timeoutMs: 2000, retries: 1, allowPrivateHosts: true, progress: false });

    const cut = join(dir, 'cut');
    const killed = await cliplab(['ingest', ...flags, '--out', cut], () => existsSync(join(cut, '000000_stats.json')));
    expect(killed.signal).toBe('SIGKILL');
    const doneAfterKill = (await readdir(cut)).filter((n) => n.endsWith('_stats.json')).length;
    expect(doneAfterKill).toBeGreaterThanOrEqual(1);
    expect(doneAfterKill).toBeLessThan(5);

    const rerun = await cliplab(['ingest', ...flags, '--out', cut, '--json']);
    expect(rerun.stderr).toBe('');
    expect(rerun.status).toBe(0);
    const stats = JSON.parse(rerun.stdout) as Record<string, unknown>;
    expect(stats).toMatchObject({ count: 15, successes: 12, failed_to_download: 3, shards: 5, shards_skipped: doneAfterKill });
    expect(await shardHashes(cut)).toEqual(await shardHashes(full));
    expect(Object.keys(await shardHashes(cut))).toHaveLength(5);
  });

  it('cluster-style --chunk jobs: one killed with SIGKILL and rerun; the last to finish writes the stats; --processes', async () => {
    const meta = join(dir, 'jobs.tsv');
    // Row 10 (shard 5, the killed job's last) is held until after the kill, so that job cannot finish first.
    const urls = Array.from({ length: 12 }, (_, i) => (i % 5 === 4 ? `${server.base}/404/j${i}.jpg` : `${server.base}/${i === 10 ? 'hold' : 'good'}/${500 + i}.jpg`));
    await writeFile(meta, urls.map((u, i) => `${u}\tjob pair ${i}`).join('\n') + '\n');
    const flags = ['--source', 'cc12m', '--metadata', meta, '--shard-size', '2', '--concurrency', '1', '--image-size', '32', '--timeout-ms', '5000', '--retries', '0', '--allow-private-hosts'];
    const full = join(dir, 'jobs-full');
    await ingest({ source: 'cc12m', metadata: meta, out: full, shardSize: 2, concurrency: 1, imageSize: 32, timeoutMs: 5000, retries: 0, allowPrivateHosts: true, progress: false });

    const out = join(dir, 'jobs');
    server.hold(true);
    const killed = await cliplab(['ingest', ...flags, '--out', out, '--chunk', '1/2'], () => existsSync(join(out, '000001_stats.json')));
    server.hold(false);
    expect(killed.signal).toBe('SIGKILL');
    expect(existsSync(join(out, '000005_stats.json'))).toBe(false);
    const other = await cliplab(['ingest', ...flags, '--out', out, '--chunk', '0/2']);
    expect(other.status, other.stderr).toBe(0);
    expect(other.stdout).toMatch(/chunk 0\/2: 3 shards done .*still missing/);
    expect(existsSync(join(out, 'cliplab', 'stats.json'))).toBe(false);
    const rerun = await cliplab(['ingest', ...flags, '--out', out, '--chunk', '1/2', '--json']);
    expect(rerun.status, rerun.stderr).toBe(0);
    expect(JSON.parse(rerun.stdout)).toMatchObject({ count: 12, successes: 10, failed_to_download: 2, shards: 6 });
    expect(await shardHashes(out)).toEqual(await shardHashes(full));

    const procs = join(dir, 'jobs-procs');
    const p = await cliplab(['ingest', ...flags, '--out', procs, '--processes', '2', '--json']);
    expect(p.status, p.stderr).toBe(0);
    expect(JSON.parse(p.stdout)).toMatchObject({ count: 12, successes: 10, shards: 6 });
    expect(await shardHashes(procs)).toEqual(await shardHashes(full));
  });

  it('stops on a bad row with --on-bad-row fail, naming the file and line; skips it by default', async () => {
    const meta = join(dir, 'bad.tsv');
    await writeFile(meta, `${server.base}/good/1.jpg\tok\nno-tab-here,comma\n`);
    const fail = await cliplab(['ingest', '--source', 'cc12m', '--metadata', meta, '--out', join(dir, 'bad-fail'), '--allow-private-hosts', '--on-bad-row', 'fail']);
    expect(fail.status).toBe(1);
    expect(fail.stderr.trim().split('\n')).toHaveLength(1);
    expect(fail.stderr).toContain(`${meta}:line 2: expected 2 tab-separated fields, found 1 (wrong delimiter?)`);
    const skip = await cliplab(['ingest', '--source', 'cc12m', '--metadata', meta, '--out', join(dir, 'bad-skip'), '--allow-private-hosts']);
    expect(skip.status).toBe(0);
    expect(skip.stdout).toMatch(/ingested 1 of 2 rows into 1 shards .*bad rows 1/);
    // Which row failed and why, from the shard's parquet row log.
    const failures = await cliplab(['ingest-failures', join(dir, 'bad-skip')]);
    expect(failures.status).toBe(0);
    expect(failures.stdout).toContain('1\tbad_row: expected 2 tab-separated fields, found 1 (wrong delimiter?)');
    expect(failures.stdout).toContain(`000000001\tbad_row\texpected 2 tab-separated fields, found 1 (wrong delimiter?)\t${meta}:line 2`);
    const none = await cliplab(['ingest-failures', dir]);
    expect(none.status).toBe(1);
    expect(none.stderr).toMatch(/no <shard>\.parquet row logs here/);
  });

  it('exits non-zero with a hint when every URL is refused as a private address, keeping the stats', async () => {
    const meta = join(dir, 'local.tsv');
    await writeFile(meta, [1, 2, 3].map((i) => `${server.base}/good/${i}.jpg\tlocal ${i}`).join('\n') + '\n');
    const out = join(dir, 'local');
    const r = await cliplab(['ingest', '--source', 'cc12m', '--metadata', meta, '--out', out]);
    expect(r.status).toBe(1);
    expect(r.stdout).toMatch(/ingested 0 of 3 rows/);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/every URL \(3\) was refused as a loopback, private or link-local address.*--allow-private-hosts/);
    expect(existsSync(join(out, 'cliplab', 'stats.json'))).toBe(true);
  });

  it('rejects bad flags with a one-line error naming the input', async () => {
    const meta = join(dir, 'x.tsv');
    await writeFile(meta, 'https://example.com/a.jpg\ta\n');
    const out = join(dir, 'x');
    const cases: [string[], RegExp][] = [
      [['--source', 'flickr', '--metadata', meta, '--out', out], /--source: expected one of laion\|yfcc\|cc12m\|wit\|redcaps\|shutterstock\|generic, got 'flickr'/],
      [['--source', 'cc12m', '--metadata', join(dir, 'missing.tsv'), '--out', out], /--metadata: no such file/],
      [['--source', 'cc12m', '--metadata', meta, '--out', out, '--concurrency', 'lots'], /--concurrency: expected a positive integer, got 'lots'/],
      [['--source', 'cc12m', '--metadata', meta, '--out', out, '--processes', '0'], /--processes: expected an integer >= 1, got '0'/],
      [['--source', 'cc12m', '--metadata', meta, '--out', out, '--on-bad-row', 'maybe'], /--on-bad-row: expected one of skip\|fail, got 'maybe'/],
      [['--source', 'cc12m', '--out', out], /--metadata/],
      [['--source', 'cc12m', '--metadata', meta, '--out', out, '--chunk', '2/2'], /--chunk: must be i\/n/],
    ];
    const runs = await Promise.all(cases.map(([args]) => cliplab(['ingest', ...args])));
    runs.forEach((r, i) => {
      expect(r.status, cases[i]![0].join(' ')).not.toBe(0);
      expect(r.stderr.trim().split('\n'), r.stderr).toHaveLength(1);
      expect(r.stderr).toMatch(cases[i]![1]);
    });
    const help = await cliplab(['ingest', '--help']);
    expect(help.status).toBe(0);
    for (const f of ['--source', '--metadata', '--out', '--url-col', '--caption-col', '--min-similarity', '--max-punsafe', '--concurrency', '--timeout-ms', '--retries', '--image-size', '--shard-size', '--allow-private-hosts', '--on-bad-row', '--processes', '--chunk', '--json']) {
      expect(help.stdout).toContain(f);
    }
  });
});
