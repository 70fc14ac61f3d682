// Hostile metadata for ingest: a parquet footer claiming 10¹² rows, a CSV with an unclosed quote, over-long
// lines, invalid UTF-8, empty files, an oversized caption, a URL with a password, and a rerun whose metadata
// file changed under the same name. Each is refused or skipped and counted, with the file and limit named.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parquetMetadata } from 'hyparquet';
import { parquetWriteBuffer, ByteWriter } from 'hyparquet-writer';
import { writeMetadata } from 'hyparquet-writer/src/metadata.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ingest, type IngestOptions } from '../../src/data/ingest/ingest.js';
import { MAX_LINE_BYTES } from '../../src/data/ingest/tables.js';
import { MAX_CAPTION_BYTES } from '../../src/data/ingest/sources.js';
import { readRowLogs } from '../../src/data/ingest/row-log.js';
import { MAX_MEMBER_BYTES, writeShard } from '../../src/data/shards/writer.js';
import { readTar } from '../support/ingest-helpers.js';
import { startTestServer, type TestServer } from '../support/ingest-server.js';

let server: TestServer;
const root = mkdtempSync(join(tmpdir(), 'cliplab-ingest-hostile-'));
beforeAll(async () => {
  server = await startTestServer();
});
afterAll(() => server.close());

let n = 0;
const run = (metadata: string, extra: Partial<IngestOptions> = {}) =>
  ingest({ source: 'generic', metadata, out: join(root, `out-${n++}`), allowPrivateHosts: true, progress: false, imageSize: 32, timeoutMs: 5000, ...extra });
const file = (name: string, body: string | Buffer): string => {
  const p = join(root, name);
  writeFileSync(p, body);
  return p;
};
const good = (i: number) => `${server.base}/good/${i}.jpg`;

describe('bounded counts and lengths', () => {
  it('a parquet footer claiming 10¹² rows is refused, naming the claim and the limit', async () => {
    const buf = Buffer.from(parquetWriteBuffer({ columnData: [{ name: 'url', data: [good(1), good(2)] }, { name: 'caption', data: ['a', 'b'] }] }));
    const meta = parquetMetadata(buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength));
    meta.num_rows = 10n ** 12n;
    meta.row_groups[0]!.num_rows = 10n ** 12n;
    const footerLen = buf.readUInt32LE(buf.length - 8);
    const w = new ByteWriter();
    writeMetadata(w, meta as never);
    const footer = Buffer.from(w.getBuffer());
    const len = Buffer.alloc(4);
    len.writeUInt32LE(footer.length);
    const forged = Buffer.concat([buf.subarray(0, buf.length - 8 - footerLen), footer, len, Buffer.from('PAR1')]);
    const p = file('forged.parquet', forged);
    await expect(run(p)).rejects.toThrow(`forged.parquet: the footer claims 1000000000000 rows in a ${forged.length}-byte file (the limit is one row per byte): corrupt or hostile parquet`);
  });

  it('a CSV with one unclosed quote is parsed in linear time and refused at the end, naming the line', async () => {
    // 50,000 lines after the quote: the old quadratic parse re-read the open record for every line (hours);
    // the test's timeout is only a backstop, the assertion is the error.
    const lines = ['url,caption', `${good(1)},"never closed`, ...Array.from({ length: 50_000 }, (_, i) => `${good(i)},row ${i}`)];
    const p = file('unclosed.csv', lines.join('\n') + '\n');
    await expect(run(p)).rejects.toThrow('unclosed.csv:line 2: unterminated quoted field at end of file');
  }, 60_000);

  it('a quoted field open past the line limit is refused without holding the file', async () => {
    const chunk = 'x'.repeat(1 << 20);
    const p = file('runaway.csv', ['url,caption', `${good(1)},"open`, ...Array.from({ length: 17 }, () => chunk)].join('\n'));
    await expect(run(p)).rejects.toThrow(`runaway.csv:line 2: quoted field still open after ${MAX_LINE_BYTES} bytes (the limit): an unclosed quote?`);
  });

  it('an over-long line and invalid UTF-8 are bad rows (named, counted), the rest is ingested', async () => {
    const bad = Buffer.from([0x63, 0x61, 0xff, 0xfe, 0x74]); // "ca\xff\xfet"
    const p = file('mixed.tsv', Buffer.concat([
      Buffer.from(`url\tcaption\n${good(1)}\tfine\n${good(2)}\t`), bad, Buffer.from(`\n${good(3)}\t${'y'.repeat(MAX_LINE_BYTES + 10)}\n${good(4)}\tlast\n`),
    ]));
    const s = await run(p);
    expect(s).toMatchObject({ count: 4, successes: 2, bad_rows: 2 });
    const logged = await readRowLogs(join(root, `out-${n - 1}`), (r) => r.status === 'bad_row');
    expect(logged.map((r) => [r.where, r.error_message])).toEqual([
      [`${p}:line 3`, 'not valid UTF-8'],
      [`${p}:line 4`, `line is longer than ${MAX_LINE_BYTES} bytes (the limit)`],
    ]);
  });

  it('a caption over the limit is a bad row, not stored (and a shard never holds a member the reader drops)', async () => {
    const p = file('long-caption.jsonl', [{ url: good(1), caption: 'z'.repeat(MAX_CAPTION_BYTES + 1) }, { url: good(2), caption: 'ok' }].map((r) => JSON.stringify(r)).join('\n'));
    const s = await run(p);
    expect(s).toMatchObject({ count: 2, successes: 1, bad_rows: 1 });
    const logged = await readRowLogs(join(root, `out-${n - 1}`), (r) => r.status === 'bad_row');
    expect(logged[0]!.error_message).toBe(`caption is ${MAX_CAPTION_BYTES + 1} bytes, over the ${MAX_CAPTION_BYTES}-byte limit`);
    const sample = { key: 'k', image: new Uint8Array(4), imageExt: 'jpg' as const, caption: 'c'.repeat(MAX_MEMBER_BYTES + 1), meta: {} };
    await expect(writeShard(join(root, 'big.tar'), [sample])).rejects.toThrow(`sample member k.txt: ${MAX_MEMBER_BYTES + 1} bytes, over the ${MAX_MEMBER_BYTES}-byte limit`);
    expect(readdirSync(root).filter((f) => f.includes('big.tar'))).toEqual([]);
  });

  it('an empty metadata file (or a header alone) is an error naming it', async () => {
    for (const [name, body] of [['empty.tsv', ''], ['header.tsv', 'url\tcaption\n'], ['empty.jsonl', '\n\n'], ['empty.csv', 'url,caption\n']] as const) {
      const p = file(name, body);
      await expect(run(p), name).rejects.toThrow(`${p}: no data rows: an empty generic metadata file`);
    }
  });
});

describe('what ingest stores', () => {
  it('never stores a URL password (shard json, row log, stats)', async () => {
    const u = new URL(good(7));
    u.username = 'alice';
    u.password = 's3cr3t-pw';
    const p = file('creds.tsv', `url\tcaption\n${u.href}\tc\n${u.href.replace('/good/7', '/404/x')}\tc\n`);
    const s = await run(p);
    expect(s.successes).toBe(1);
    const out = join(root, `out-${n - 1}`);
    const samples = await readTar(join(out, '000000.tar'));
    expect(samples[0]!.json!.url).toBe(good(7));
    const grep = spawnSync('grep', ['-rl', 's3cr3t-pw', out], { encoding: 'utf8' });
    expect(grep.stdout).toBe('');
    expect(grep.status).toBe(1); // grep: no match
  });
});

describe('reruns check their inputs by content', () => {
  it('a rerun with different metadata under the same file name is refused; the output is left as it was', async () => {
    const p = join(root, 'same-name.tsv');
    writeFileSync(p, Array.from({ length: 6 }, (_, i) => `${good(i)}\tpair ${i}`).join('\n') + '\n');
    const o: Partial<IngestOptions> = { source: 'cc12m', out: join(root, 'rerun'), shardSize: 3 };
    expect((await run(p, o)).count).toBe(6);
    const before = readdirSync(join(root, 'rerun')).map((f) => [f, statSync(join(root, 'rerun', f)).mtimeMs]);
    writeFileSync(p, Array.from({ length: 5 }, (_, i) => `${good(i + 10)}\tother ${i}`).join('\n') + '\n');
    await expect(run(p, o)).rejects.toThrow(/--metadata: same-name\.tsv is not the file .*rerun was ingested from \(sha256 [0-9a-f]{12}…, was [0-9a-f]{12}…\): use a new --out, or the original file/);
    expect(readdirSync(join(root, 'rerun')).map((f) => [f, statSync(join(root, 'rerun', f)).mtimeMs])).toEqual(before);
    expect(JSON.parse(readFileSync(join(root, 'rerun', 'cliplab', 'stats.json'), 'utf8')).count).toBe(6);
  });
});
