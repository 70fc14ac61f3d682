// An ingest folder is an img2dataset output folder: beside each shard the `<shard>.parquet` row log (one row per
// input row, img2dataset's columns and types) and `<shard>_stats.json` (its fields, epoch-float times); nothing
// else at the top that img2dataset's tools would parse as a shard; and img2dataset's aggregation (re-run in
// Python below, following its main.py resume scan and logger.py's LoggerProcess) reads it without error.
import { spawnSync } from 'node:child_process';
import { mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { asyncBufferFromFile, parquetMetadataAsync } from 'hyparquet';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ingest } from '../../src/data/ingest/index.js';
import { readRowLogs } from '../../src/data/ingest/row-log.js';
import { readTar } from '../support/ingest-helpers.js';
import { startTestServer, type TestServer } from '../support/ingest-server.js';
import { describeWith } from '../support/external.js';

let server: TestServer;
let dir: string;
let out: string;
let meta: string;
let t0: number;

beforeAll(async () => {
  server = await startTestServer({});
  dir = await mkdtemp(join(tmpdir(), 'cliplab-img2dataset-'));
  out = join(dir, 'out');
  meta = join(dir, 'pairs.tsv');
  const b = server.base;
  // Row 3 has three fields (a bad row); row 4 is a truncated JPEG (failed_to_resize).
  const lines = [`${b}/good/1.jpg\tone`, `${b}/404/x.jpg\ttwo`, `${b}/good/2.png\tthree`, `${b}/good/3.jpg\tfour\textra`, `${b}/truncated/t.jpg\tfive`];
  await writeFile(meta, lines.join('\n') + '\n');
  t0 = Date.now() / 1000;
  await ingest({ source: 'cc12m', metadata: meta, out, shardSize: 3, concurrency: 2, retries: 0, imageSize: 32, allowPrivateHosts: true, progress: false });
});
afterAll(async () => {
  await server.close();
  await rm(dir, { recursive: true, force: true });
});

describe('cliplab ingest writes an img2dataset output folder', () => {
  it('keeps only shard files at the top (img2dataset reads every *.json there as <shard number>_…)', async () => {
    const top = (await readdir(out)).filter((n) => !n.startsWith('.')).sort();
    expect(top).toEqual(['000000.parquet', '000000.tar', '000000_stats.json', '000001.parquet', '000001.tar', '000001_stats.json', 'cliplab']);
    expect((await readdir(join(out, 'cliplab'))).sort()).toEqual(['ingest.json', 'stats.json']);
  });

  it('writes <shard>_stats.json with img2dataset fields and types: counts, status_dict, epoch-float times, duration', async () => {
    const s = JSON.parse(await readFile(join(out, '000000_stats.json'), 'utf8')) as Record<string, unknown>;
    expect(s).toMatchObject({ count: 3, successes: 2, failed_to_download: 1, failed_to_resize: 0, status_dict: { success: 2, http_404: 1 } });
    const { start_time: start, end_time: end, duration } = s as { start_time: number; end_time: number; duration: number };
    for (const v of [start, end, duration]) expect(typeof v).toBe('number');
    expect(start).toBeGreaterThanOrEqual(t0 - 1);
    expect(end).toBeGreaterThanOrEqual(start);
    expect(end).toBeLessThan(Date.now() / 1000 + 1);
    expect(duration).toBeCloseTo(end - start, 6);
    const s1 = JSON.parse(await readFile(join(out, '000001_stats.json'), 'utf8')) as Record<string, unknown>;
    expect(s1).toMatchObject({ count: 2, successes: 0, failed_to_resize: 1, bad_rows: 1, status_dict: { decode_error: 1, bad_row: 1 } });
  });

  it('writes one parquet row per input row, with img2dataset column names and physical types', async () => {
    const md = await parquetMetadataAsync(await asyncBufferFromFile(join(out, '000000.parquet')));
    const types = Object.fromEntries(md.schema.slice(1).map((e) => [e.name, `${e.type}${e.converted_type ? `/${e.converted_type}` : ''}`]));
    // img2dataset's downloader.py schema: key, status, error_message as pa.string(); sizes as pa.int32(); sha256 string.
    for (const c of ['url', 'caption', 'key', 'status', 'error_message', 'sha256']) expect(types[c]).toBe('BYTE_ARRAY/UTF8');
    for (const c of ['width', 'height', 'original_width', 'original_height']) expect(types[c]).toBe('INT32');
    const rows = await readRowLogs(out);
    expect(rows.map((r) => [r.file, r.key, r.status, r.error_message])).toEqual([
      ['000000.parquet', '000000000', 'success', null],
      ['000000.parquet', '000000001', 'failed_to_download', 'http_404'],
      ['000000.parquet', '000000002', 'success', null],
      ['000001.parquet', '000000003', 'bad_row', 'expected 2 tab-separated fields, found 3'],
      ['000001.parquet', '000000004', 'failed_to_resize', 'decode_error'],
    ]);
    expect(rows[0]).toMatchObject({ url: `${server.base}/good/1.jpg`, caption: 'one', width: 32, original_width: 300, original_height: 200, http_status: 200 });
    // The logged size is the stored image's.
    const stored = (await readTar(join(out, '000000.tar'))).find((x) => x.key === '000000000')!;
    expect((await sharp(stored.jpg!).metadata()).height).toBe(rows[0]!.height);
    expect(rows[0]!.sha256).toMatch(/^[0-9a-f]{64}$/);
    expect(rows[1]).toMatchObject({ width: null, sha256: null, http_status: 404, where: `${meta}:line 2` });
    expect(rows[3]).toMatchObject({ url: null, where: `${meta}:line 4` });
  });
});

const python = { name: 'python3', available: spawnSync('python3', ['-c', 'import json, glob']).status === 0, why: 'python3 is not on PATH (apt-get install python3)' };
const aggregate = fileURLToPath(new URL('./img2dataset_aggregate.py', import.meta.url));

describeWith(python, "img2dataset's aggregation of an ingest folder", () => {
  it('parses every top-level json name as a shard number and sums the stats without a type error', () => {
    const r = spawnSync('python3', [aggregate, out], { encoding: 'utf8' });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const agg = JSON.parse(r.stdout) as Record<string, unknown>;
    expect(agg).toMatchObject({ done_shards: [0, 1], count: 5, successes: 2, failed_to_download: 1, failed_to_resize: 1 });
    expect(agg.status_dict).toMatchObject({ success: 2, http_404: 1, decode_error: 1 });
    expect(agg.duration as number).toBeGreaterThanOrEqual(0);
  });
});
