// `cliplab ingest --executor slurm --jobs N` on a real Slurm cluster (../shared/slurm/up.sh; .ci/run starts it):
// the jobs' shards and stats.json equal a plain single-process ingest of the same CSV served from 127.0.0.1; a
// share failing on its node is retried, and one failing for good is named; Ctrl-C cancels the jobs; a driver
// killed with SIGKILL and rerun waits on the jobs it left instead of submitting them again. Spawns the built
// CLI (`npm test` builds dist/ first). Plus its flag errors, which need no cluster.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ingest } from '../../data/ingest/index.js';
import { describeWith } from '../../../test/support/external.js';
import { startTestServer, type TestServer } from '../../../test/support/ingest-server.js';
import { shardHashes } from '../../../test/support/ingest-helpers.js';
import { slurmTool } from '../../../test/support/tools.js';

const repo = fileURLToPath(new URL('../../../', import.meta.url));
const bin = join(repo, 'bin', 'cliplab.js');

function start(args: string[]): { child: ChildProcess; done: Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }>; stderr: () => string } {
  const child = spawn(process.execPath, [bin, ...args], { cwd: repo, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (c: Buffer) => (stdout += c.toString()));
  child.stderr!.on('data', (c: Buffer) => (stderr += c.toString()));
  const done = new Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }>((resolve) =>
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr })),
  );
  return { child, done, stderr: () => stderr };
}

async function until(what: string, ok: () => boolean, ms = 300_000): Promise<void> {
  const t0 = Date.now();
  while (!ok()) {
    if (Date.now() - t0 > ms) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** Slurm's records of the jobs run from `out` (the job-completion log: every ended job). */
function slurmRecords(out: string): { id: string; name: string; state: string }[] {
  const r = spawnSync('sacct', ['-c', '-n', '-P', '-o', 'JobID,JobName,State,WorkDir'], { encoding: 'utf8' });
  return r.stdout.split('\n').map((l) => l.split('|')).filter((f) => f[3] === out).map(([id, name, state]) => ({ id: id!, name: name!, state: state!.split(' ')[0]! }));
}

/** The jobs run from `out` that Slurm still has queued or running. */
function liveJobs(out: string): { id: string; state: string }[] {
  const r = spawnSync('squeue', ['-h', '-o', '%i|%T|%Z'], { encoding: 'utf8' });
  return r.stdout.split('\n').map((l) => l.split('|')).filter((f) => f[2] === out).map(([id, state]) => ({ id: id!, state: state! }));
}

/** stats.json without this run's timing (duration, rate), which differ between any two runs. */
function countsOf(out: string): Record<string, unknown> {
  const { duration_s: _d, images_per_s: _r, ...rest } = JSON.parse(readFileSync(join(out, 'cliplab', 'stats.json'), 'utf8')) as Record<string, unknown>;
  return rest;
}

let server: TestServer;
let dir: string;
beforeAll(async () => {
  server = await startTestServer();
  dir = await mkdtemp(join(tmpdir(), 'cliplab-ingest-slurm-'));
});
afterAll(async () => {
  await server.close();
  await rm(dir, { recursive: true, force: true });
});

/** A CSV of `n` rows (every fifth a 404) through `/<route>/`, and a plain single-process ingest of it. */
async function input(name: string, n: number, route = 'good'): Promise<{ meta: string; flags: string[]; plain: string }> {
  const meta = join(dir, `${name}.csv`);
  const rows = Array.from({ length: n }, (_, i) => `${i % 5 === 4 ? `${server.base}/404/${name}${i}.jpg` : `${server.base}/${route}/${300 + i}.jpg`},"${name} pair ${i}"`);
  await writeFile(meta, ['url,caption', ...rows].join('\n') + '\n');
  const flags = ['--source', 'generic', '--metadata', meta, '--shard-size', '2', '--concurrency', '2', '--image-size', '32', '--timeout-ms', '60000', '--retries', '0', '--allow-private-hosts'];
  return { meta, flags, plain: join(dir, `${name}-plain`) };
}

async function plainIngest(meta: string, out: string): Promise<void> {
  await ingest({ source: 'generic', metadata: meta, out, shardSize: 2, concurrency: 2, imageSize: 32, timeoutMs: 60000, retries: 0, allowPrivateHosts: true, progress: false });
}

const cliplabCmd = `${process.execPath} ${bin}`;
const slurmFlags = ['--executor', 'slurm', '--jobs', '2', '--cpus-per-job', '1'];

describe('cliplab ingest --executor slurm: flags', () => {
  it('rejects bad combinations with a one-line error naming the flag', async () => {
    const meta = join(dir, 'flags.csv');
    await writeFile(meta, 'url,caption\nhttps://example.com/a.jpg,a\n');
    const base = ['ingest', '--source', 'generic', '--metadata', meta, '--out', join(dir, 'flags')];
    const cases: [string[], RegExp][] = [
      [['--jobs', '2'], /--jobs: applies only with --executor slurm \(on this machine, use --processes\)/],
      [['--partition', 'gpu'], /--partition: applies only with --executor slurm/],
      [['--executor', 'slurm'], /--jobs: required with --executor slurm/],
      [['--executor', 'slurm', '--jobs', '0'], /--jobs: expected an integer >= 1, got '0'/],
      [['--executor', 'slurm', '--jobs', '2', '--processes', '2'], /--processes: cannot be combined with --executor slurm/],
      [['--executor', 'slurm', '--jobs', '2', '--chunk', '0/2'], /--chunk: cannot be combined with --executor slurm/],
      [['--executor', 'slurm', '--jobs', '2', '--mem', 'lots'], /--mem: expected Slurm memory such as 16G, got 'lots'/],
      [['--executor', 'pbs'], /--executor: expected one of local\|slurm, got 'pbs'/],
    ];
    const runs = await Promise.all(cases.map(([a]) => start([...base, ...a]).done));
    runs.forEach((r, i) => {
      expect(r.code, cases[i]![0].join(' ')).toBe(1);
      expect(r.stderr.trim().split('\n'), r.stderr).toHaveLength(1);
      expect(r.stderr).toMatch(cases[i]![1]);
    });
    expect(existsSync(join(dir, 'flags', 'cliplab', 'stats.json'))).toBe(false);
  });
});

describeWith(slurmTool(), 'cliplab ingest --executor slurm (real Slurm)', () => {
  it('two jobs give the shards and stats.json of a plain single-process ingest', { timeout: 300_000 }, async () => {
    const { meta, flags, plain } = await input('same', 10);
    await plainIngest(meta, plain);
    const out = join(dir, 'same');
    const r = await start(['ingest', ...flags, '--out', out, ...slurmFlags, '--cliplab', cliplabCmd, '--json']).done;
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ count: 10, successes: 8, failed_to_download: 2, shards: 5, shards_skipped: 0 });
    expect(r.stderr).toMatch(/ingest: 5 chunks as 2 Slurm jobs \(0 found complete\)/);
    expect(r.stderr).toMatch(/\[1\/2\] done chunk [01]\/2/);
    expect(r.stderr).toMatch(/\[2\/2\] done chunk [01]\/2/);
    expect(countsOf(out)).toEqual(countsOf(plain));
    expect(await shardHashes(out)).toEqual(await shardHashes(plain));
    expect(Object.keys(await shardHashes(out))).toHaveLength(5);
    const recs = slurmRecords(out);
    expect(recs.map((x) => `${x.name} ${x.state}`).sort()).toEqual(['cliplab:same:ingest/chunk-0-of-2 COMPLETED', 'cliplab:same:ingest/chunk-1-of-2 COMPLETED']);
    expect(readFileSync(join(out, 'cliplab', 'slurm', 'ingest__chunk-1-of-2.sh'), 'utf8')).toContain(' ingest --source generic --metadata ');
  });

  it('a share failing on its node is retried; one failing for good is named, and a rerun finishes the rest', { timeout: 300_000 }, async () => {
    const { meta, flags, plain } = await input('fails', 8);
    await plainIngest(meta, plain);
    // A cliplab that fails share 1/2: once (a marker file remembers), or always.
    const wrapper = async (name: string, once: boolean): Promise<string> => {
      const path = join(dir, name);
      const mark = `${path}.failed`;
      const test = once ? `[ ! -e ${mark} ]` : 'true';
      await writeFile(path, `#!/bin/sh\ncase "$*" in *"--chunk 1/2"*) if ${test}; then touch ${mark}; echo "simulated node failure" >&2; exit 3; fi;; esac\nexec ${cliplabCmd} "$@"\n`, { mode: 0o755 });
      return path;
    };
    const once = join(dir, 'fails-once');
    const r1 = await start(['ingest', ...flags, '--out', once, ...slurmFlags, '--cliplab', await wrapper('once.sh', true), '--json']).done;
    expect(r1.code, r1.stderr).toBe(0);
    expect(r1.stderr).toMatch(/FAILED chunk 1\/2: Slurm job \d+ FAILED \(exit 3\) on \S+: simulated node failure \(log: .*chunk-1-of-2\.log\) — retrying/);
    expect(r1.stderr).toMatch(/start chunk 1\/2 \(attempt 2\)/);
    expect(countsOf(once)).toEqual(countsOf(plain));
    expect(await shardHashes(once)).toEqual(await shardHashes(plain));
    expect(slurmRecords(once).filter((x) => x.name.endsWith('chunk-1-of-2')).map((x) => x.state)).toEqual(['FAILED', 'COMPLETED']);

    const always = join(dir, 'fails-always');
    const r2 = await start(['ingest', ...flags, '--out', always, ...slurmFlags, '--cliplab', await wrapper('always.sh', false)]).done;
    expect(r2.code).toBe(1);
    const last = r2.stderr.trim().split('\n').pop()!;
    expect(last).toMatch(/1 of 2 Slurm jobs failed \(chunk 1\/2: Slurm job \d+ FAILED \(exit 3\).*simulated node failure.*\); finished shards are kept: rerun the same command/);
    expect(existsSync(join(always, 'cliplab', 'stats.json'))).toBe(false);
    expect(Object.keys(await shardHashes(always))).toEqual(['000000.tar', '000002.tar']); // share 0's shards
    const r3 = await start(['ingest', ...flags, '--out', always, ...slurmFlags, '--cliplab', cliplabCmd, '--json']).done;
    expect(r3.code, r3.stderr).toBe(0);
    expect(r3.stderr).toMatch(/ingest: 4 chunks as 2 Slurm jobs \(1 found complete\)/);
    expect(JSON.parse(r3.stdout)).toMatchObject({ count: 8, shards: 4, shards_skipped: 2 });
    expect(countsOf(always)).toEqual({ ...countsOf(plain), shards_skipped: 2 }); // the driver's assembly, not the job's
    expect(await shardHashes(always)).toEqual(await shardHashes(plain));
  });

  it('Ctrl-C cancels the running jobs; a driver killed with SIGKILL and rerun waits on the jobs it left', { timeout: 300_000 }, async () => {
    const { meta, flags, plain } = await input('held', 8, 'hold');
    const bothRunning = (out: string) => () => {
      const live = liveJobs(out);
      return live.length === 2 && live.every((j) => j.state === 'RUNNING');
    };
    server.hold(true);
    try {
      const int = join(dir, 'held-int');
      const a = start(['ingest', ...flags, '--out', int, ...slurmFlags, '--cliplab', cliplabCmd]);
      await until('both jobs running', bothRunning(int));
      a.child.kill('SIGINT');
      const ra = await a.done;
      expect(ra.code).toBe(1);
      expect(ra.stderr.trim().split('\n').pop()).toMatch(/ingest interrupted with 0\/2 Slurm jobs done; their shards are kept: rerun the same command to resume/);
      expect(liveJobs(int)).toEqual([]);
      expect(slurmRecords(int).map((x) => x.state)).toEqual(['CANCELLED', 'CANCELLED']);

      const killed = join(dir, 'held-kill');
      const b = start(['ingest', ...flags, '--out', killed, ...slurmFlags, '--cliplab', cliplabCmd]);
      await until('both jobs running', bothRunning(killed));
      const left = liveJobs(killed).map((j) => j.id).sort();
      b.child.kill('SIGKILL');
      await b.done;
      const c = start(['ingest', ...flags, '--out', killed, ...slurmFlags, '--cliplab', cliplabCmd, '--json']);
      await until('the rerun waiting on both jobs', () => (c.stderr().match(/waiting on chunk [01]\/2 \(slurm:\d+, started by an interrupted run\)/g) ?? []).length === 2, 120_000);
      server.hold(false);
      const rc = await c.done;
      expect(rc.code, rc.stderr).toBe(0);
      expect(JSON.parse(rc.stdout)).toMatchObject({ count: 8, successes: 7, shards: 4 });
      // Slurm ran exactly the two jobs the killed driver submitted, and nothing else from this directory.
      expect(slurmRecords(killed).map((x) => `${x.id} ${x.state}`).sort()).toEqual(left.map((id) => `${id} COMPLETED`));
      await plainIngest(meta, plain);
      expect(await shardHashes(killed)).toEqual(await shardHashes(plain));
      expect(countsOf(killed)).toEqual(countsOf(plain));
    } finally {
      server.hold(false);
    }
  });
});
