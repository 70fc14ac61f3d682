// Several processes on one input: `ingestProcesses` and `--chunk` shares give exactly the shards of a single
// process (same keys, same bytes, no sample twice); a worker killed with SIGKILL loses only its unfinished
// shards and a rerun finishes them.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ingest } from './ingest.js';
import { ingestProcesses } from './processes.js';
import { startTestServer, type TestServer } from '../../../test/support/ingest-server.js';
import { allSamples, shardHashes } from '../../../test/support/ingest-helpers.js';
import type { OverallStats } from './stats.js';

let server: TestServer;
let dir: string;
let meta: string;
let reference: Record<string, string>;
let refStats: OverallStats;

const OPTS = { source: 'cc12m', timeoutMs: 8000, retries: 0, imageSize: 32, shardSize: 3, concurrency: 2, allowPrivateHosts: true, progress: false } as const;
const ROWS = 26; // 9 chunks, the last one short

beforeAll(async () => {
  server = await startTestServer({ goodDelayMs: 20 });
  dir = await mkdtemp(join(tmpdir(), 'cliplab-ingest-procs-'));
  meta = join(dir, 'cc12m.tsv');
  // Row 22 is in chunk 7 (worker 1's last share of two): the kill test holds it, so that worker cannot finish.
  const url = (i: number) => (i % 7 === 6 ? `${server.base}/404/n${i}.jpg` : `${server.base}/${i === 22 ? 'hold' : 'good'}/${300 + i}.jpg`);
  const urls = Array.from({ length: ROWS }, (_, i) => url(i));
  await writeFile(meta, urls.map((u, i) => `${u}\tpair ${i}`).join('\n') + '\n');
  refStats = await ingest({ ...OPTS, metadata: meta, out: join(dir, 'ref') });
  reference = await shardHashes(join(dir, 'ref'));
});
afterAll(async () => {
  await server.close();
  await rm(dir, { recursive: true, force: true });
});

const counts = (s: OverallStats) => ({ count: s.count, successes: s.successes, failed_to_download: s.failed_to_download, shards: s.shards, status_dict: s.status_dict });

describe('ingest with several processes', () => {
  it('three processes write exactly the shards and stats of one process', async () => {
    expect(refStats).toMatchObject({ count: ROWS, successes: 23, failed_to_download: 3, shards: 9 });
    const out = join(dir, 'three');
    const seen = new Set<string>();
    const pids: number[] = [];
    const s = await ingestProcesses({ ...OPTS, metadata: meta, out, onShardDone: (st) => seen.add(st.shard) }, 3, { onWorkerStart: (_i, pid) => pids.push(pid) });
    expect(new Set(pids).size).toBe(3);
    expect(pids).not.toContain(process.pid);
    expect(counts(s)).toEqual(counts(refStats));
    expect(s.shards_skipped).toBe(0);
    expect(seen.size).toBe(9);
    expect(await shardHashes(out)).toEqual(reference);
    const samples = await allSamples(out);
    expect(samples).toHaveLength(23);
    expect(new Set(samples.map((x) => x.key)).size).toBe(23);
    const onDisk = JSON.parse(await readFile(join(out, 'cliplab', 'stats.json'), 'utf8')) as OverallStats;
    expect(counts(onDisk)).toEqual(counts(refStats));
    for (const n of ['000000.parquet', '000004.parquet', '000008.parquet']) expect(await readFile(join(out, n))).toEqual(await readFile(join(dir, 'ref', n)));
  });

  it('a worker killed with SIGKILL loses only its unfinished shards; the rerun finishes them', async () => {
    const out = join(dir, 'killed');
    const pids = new Map<number, number>();
    let killed = false;
    server.hold(true);
    const run = ingestProcesses(
      {
        ...OPTS,
        metadata: meta,
        out,
        concurrency: 1,
        onShardDone: (st) => {
          // Worker 1 takes the odd shards: kill it after its first one.
          if (!killed && Number(st.shard.slice(0, 6)) % 2 === 1) {
            killed = true;
            process.kill(pids.get(1)!, 'SIGKILL');
          }
        },
      },
      2,
      { onWorkerStart: (i, pid) => pids.set(i, pid) },
    );
    await expect(run).rejects.toThrow(/ingest worker 1\/2 was killed by SIGKILL.*rerun/);
    server.hold(false);
    const done = (await readdir(out)).filter((n) => n.endsWith('_stats.json')).sort();
    const even = ['000000', '000002', '000004', '000006', '000008'].map((n) => `${n}_stats.json`);
    expect(done.filter((n) => even.includes(n))).toEqual(even); // worker 0 finished its share
    const odd = done.filter((n) => !even.includes(n));
    expect(odd.length).toBeGreaterThanOrEqual(1);
    expect(odd).not.toContain('000007_stats.json'); // held
    expect(odd.length).toBeLessThan(4);
    expect(existsSync(join(out, 'cliplab', 'stats.json'))).toBe(false);

    const again = await ingestProcesses({ ...OPTS, metadata: meta, out }, 2);
    expect(again.shards_skipped).toBe(done.length);
    expect(counts(again)).toEqual(counts(refStats));
    expect(await shardHashes(out)).toEqual(reference);
  });

  it('--chunk shares run one after another (cluster jobs): the last one assembles stats.json', async () => {
    const out = join(dir, 'jobs');
    const a = await ingest({ ...OPTS, metadata: meta, out, chunk: { index: 1, count: 2 } });
    expect(a.pending_shards).toBe(5);
    expect(a.shards).toBe(4);
    expect(existsSync(join(out, 'cliplab', 'stats.json'))).toBe(false);
    const b = await ingest({ ...OPTS, metadata: meta, out, chunk: { index: 0, count: 2 } });
    expect(b.pending_shards).toBeUndefined();
    expect(counts(b)).toEqual(counts(refStats));
    expect(await shardHashes(out)).toEqual(reference);
    await expect(ingest({ ...OPTS, metadata: meta, out, chunk: { index: 2, count: 2 } })).rejects.toThrow(/--chunk: must be i\/n/);
    await expect(ingestProcesses({ ...OPTS, metadata: meta, out, chunk: { index: 0, count: 2 } }, 2)).rejects.toThrow(/--processes: cannot be combined with --chunk/);
  });
});
