// Acceptance: one ingest against a 127.0.0.1 server playing every failure mode ends with exact counts,
// every good image lands once, resized with its aspect kept; interrupted runs resume to identical shards.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtemp, readFile, rm, writeFile, readdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ingest } from './ingest.js';
import { startTestServer, type TestServer } from '../../../test/support/ingest-server.js';
import { allSamples, shardFiles, shardHashes } from '../../../test/support/ingest-helpers.js';
import type { ShardStats } from './stats.js';
import { countFromSizesJson, listShards } from '../shards/list.js';

let server: TestServer;
let dir: string;

beforeAll(async () => {
  server = await startTestServer();
  dir = await mkdtemp(join(tmpdir(), 'cliplab-ingest-'));
});
afterAll(async () => {
  await server.close();
  await rm(dir, { recursive: true, force: true });
});

/** CC12M-format metadata (url TAB caption, no header). */
async function cc12m(name: string, urls: string[]): Promise<string> {
  const path = join(dir, name);
  await writeFile(path, urls.map((u, i) => `${u}\tcaption ${i}`).join('\n') + '\n');
  return path;
}

// /slow/ never answers and everything else answers at once, so a generous timeout tells them apart however
// loaded the machine is (a short one would turn a good download into a timeout).
const FAST = { timeoutMs: 4000, retries: 1, backoffBaseMs: 10, maxRetryAfterMs: 2000, imageSize: 64, allowPrivateHosts: true, progress: false } as const;

describe('ingest against a local server with every failure mode', () => {
  it('ends with exact counts per outcome and lands every good image exactly once', async () => {
    const b = server.base;
    const good = [
      ...[0, 1, 2, 3, 4, 5].map((i) => `${b}/good/${i}.jpg`),
      `${b}/good/6.png`,
      `${b}/good/7.png`,
      `${b}/redirect/8.jpg`,
      `${b}/429/9.jpg`,
      `${b}/429slow/10.jpg`,
    ];
    const rows = [
      ...good,
      `${b}/404/a.jpg`,
      `${b}/404/b.jpg`,
      `${b}/503/c.jpg`,
      `${b}/429long/d.jpg`,
      `${b}/slow/e.jpg`,
      `${b}/loop/f.jpg`,
      `${b}/html/g.jpg`,
      `${b}/liar/h.jpg`,
      `${b}/large/i.jpg`,
      `${b}/largechunked/j.jpg`,
      `${b}/truncated/k.jpg`,
      `${b}/bomb/l.png`,
      '', // missing URL: a bad row
    ];
    const meta = await cc12m('all.tsv', rows);
    const out = join(dir, 'all');
    const stats = await ingest({ ...FAST, source: 'cc12m', metadata: meta, out, shardSize: 5, concurrency: 4, maxBytes: 1024 * 1024 });

    expect(stats.count).toBe(24);
    expect(stats.shards).toBe(5);
    expect(stats.successes).toBe(11);
    expect(stats.failed_to_download).toBe(10);
    expect(stats.failed_to_resize).toBe(2);
    expect(stats.bad_rows).toBe(1);
    expect(stats.filtered).toBe(0);
    expect(stats.refused).toBe(0);
    expect(stats.status_dict).toEqual({
      success: 11,
      http_404: 2,
      http_503: 1,
      http_429: 1,
      timeout: 1,
      redirect_loop: 1,
      bad_content_type: 1,
      not_an_image: 1,
      too_large: 2,
      decode_error: 1,
      too_many_pixels: 1,
      bad_row: 1,
    });
    expect(stats.bad_row_examples[0]).toEqual({ where: `${meta}:line 24`, reason: 'missing URL (column "url")' });

    // Retries: 429 then OK (2 requests each), Retry-After honoured; 503 and timeouts retried once; none on 404,
    // on a Retry-After past the cap, on the redirect loop, on content errors.
    const hits = (p: string) => server.hits.get(p) ?? 0;
    expect(hits('/429/9.jpg')).toBe(2);
    expect(hits('/429slow/10.jpg')).toBe(2);
    const [t0, t1] = server.times.get('/429slow/10.jpg')!;
    expect(t1! - t0!).toBeGreaterThanOrEqual(950);
    expect(hits('/503/c.jpg')).toBe(2);
    expect(hits('/slow/e.jpg')).toBe(2);
    expect(hits('/404/a.jpg')).toBe(1);
    expect(hits('/429long/d.jpg')).toBe(1);
    expect(hits('/loop/f.jpg')).toBe(1);
    expect(hits('/html/g.jpg')).toBe(1);
    expect(hits('/truncated/k.jpg')).toBe(1);

    // Five shards of five rows (the last has four), each with stats; the overall stats are on disk.
    expect(await shardFiles(out)).toEqual(['000000.tar', '000001.tar', '000002.tar', '000003.tar', '000004.tar']);
    const s0 = JSON.parse(await readFile(join(out, '000000_stats.json'), 'utf8')) as ShardStats;
    expect(s0).toMatchObject({ count: 5, successes: 5, failed_to_download: 0, first_row: 0 });
    const onDisk = JSON.parse(await readFile(join(out, 'cliplab', 'stats.json'), 'utf8')) as { successes: number };
    expect(onDisk.successes).toBe(11);
    // Sample counts come from the shards' img2dataset stats files (no sizes.json at the top of an ingest folder).
    expect(await countFromSizesJson(await listShards(out))).toBe(11);

    const samples = await allSamples(out);
    expect(samples).toHaveLength(11);
    expect(new Set(samples.map((s) => s.key)).size).toBe(11);
    expect(samples.map((s) => s.json!.url).sort()).toEqual([...good].sort());
    for (const s of samples) {
      const row = s.json!.row as number;
      expect(s.key).toBe(String(row).padStart(9, '0'));
      expect(s.txt).toBe(`caption ${row}`);
      expect(s.jpg!.subarray(0, 3)).toEqual(Buffer.from([0xff, 0xd8, 0xff]));
      expect(s.json).toMatchObject({ source: 'cc12m', caption: `caption ${row}` });
      const { width, height, original_width: ow, original_height: oh } = s.json as Record<string, number>;
      expect(Math.max(width!, height!)).toBe(64);
      expect(Math.abs(width! / height! - ow! / oh!)).toBeLessThan(0.05);
    }
    const jpg0 = samples.find((s) => s.key === '000000000')!.json!;
    expect(jpg0).toMatchObject({ width: 64, height: 43, original_width: 300, original_height: 200, original_format: 'jpeg' });
    const png = samples.find((s) => s.key === '000000006')!.json!;
    expect(png).toMatchObject({ width: 48, height: 64, original_format: 'png' });
    expect(samples.find((s) => s.key === '000000008')!.json!.final_url).toBe(`${b}/good/8.jpg`);
  });
});

describe('many downloads in flight', () => {
  it('runs without a MaxListenersExceededWarning at --concurrency 32', async () => {
    const warnings: string[] = [];
    const onWarning = (w: Error) => warnings.push(w.name);
    process.on('warning', onWarning);
    try {
      const meta = await cc12m('wide.tsv', Array.from({ length: 48 }, (_, i) => `${server.base}/good/${400 + i}.jpg`));
      const s = await ingest({ ...FAST, source: 'cc12m', metadata: meta, out: join(dir, 'wide'), shardSize: 48, concurrency: 32 });
      expect(s.successes).toBe(48);
      await new Promise((r) => setImmediate(r)); // warnings are emitted on the next tick
    } finally {
      process.off('warning', onWarning);
    }
    expect(warnings).not.toContain('MaxListenersExceededWarning');
  });
});

describe('resume', () => {
  async function metaFor(name: string): Promise<string> {
    const urls: string[] = [];
    for (let i = 0; i < 18; i++) urls.push(i % 6 === 5 ? `${server.base}/404/r${i}.jpg` : `${server.base}/good/${100 + i}.jpg`);
    return cc12m(name, urls);
  }

  it('an aborted run, rerun, gives the same shards as an uninterrupted run', async () => {
    const meta = await metaFor('resume.tsv');
    const opts = { ...FAST, source: 'cc12m' as const, metadata: meta, shardSize: 4, concurrency: 2 };
    const full = join(dir, 'full');
    const a = await ingest({ ...opts, out: full });
    expect(a).toMatchObject({ count: 18, successes: 15, failed_to_download: 3, shards: 5 });

    const cut = join(dir, 'cut');
    const ac = new AbortController();
    await expect(ingest({ ...opts, out: cut, signal: ac.signal, onShardDone: () => ac.abort(new Error('killed')) })).rejects.toThrow('killed');
    const partial = (await readdir(cut)).filter((n) => n.endsWith('_stats.json'));
    expect(partial.length).toBeGreaterThanOrEqual(1);
    expect(partial.length).toBeLessThan(5);
    expect(await readdir(join(cut, 'cliplab'))).not.toContain('stats.json');

    const before = server.hits.get('/good/100.jpg') ?? 0;
    const b = await ingest({ ...opts, out: cut });
    expect(b.shards_skipped).toBe(partial.length);
    expect(server.hits.get('/good/100.jpg') ?? 0).toBe(before); // shard 0 was done: not fetched again
    expect(b).toMatchObject({ count: 18, successes: 15, failed_to_download: 3, shards: 5 });
    expect(await shardHashes(cut)).toEqual(await shardHashes(full));

    // A shard whose stats are missing is unfinished: it is redone, and nothing else is.
    await rm(join(cut, '000002_stats.json'));
    const c = await ingest({ ...opts, out: cut });
    expect(c.shards_skipped).toBe(4);
    expect(await shardHashes(cut)).toEqual(await shardHashes(full));
    const keys = (await allSamples(cut)).map((s) => s.key);
    expect(new Set(keys).size).toBe(15);
  });

  it('refuses to resume with options that change shard contents', async () => {
    const meta = await metaFor('resume2.tsv');
    const out = join(dir, 'cfg');
    await ingest({ ...FAST, source: 'cc12m', metadata: meta, out, shardSize: 9, concurrency: 4 });
    await expect(ingest({ ...FAST, source: 'cc12m', metadata: meta, out, shardSize: 4 })).rejects.toThrow(/shard_size=9/);
  });
});
