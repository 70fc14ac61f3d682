// Tests for the shard reader and listing: round trip, broken inputs skipped and counted, brace patterns.
import { describe, it, expect } from 'vitest';
import { mkdtempSync, readFileSync, truncateSync, writeFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { writeShard, type ShardSample } from './writer.js';
import { readShard, readShards, newReadStats, formatReadStats, type ShardRecord } from './reader.js';
import { listShards, expandBraces, countFromSizesJson } from './list.js';
import { syntheticSample } from './synthetic.js';

async function collect(it: AsyncIterable<ShardRecord>): Promise<ShardRecord[]> {
  const out: ShardRecord[] = [];
  for await (const r of it) out.push(r);
  return out;
}

async function samples(n: number): Promise<ShardSample[]> {
  return Promise.all(Array.from({ length: n }, (_, i) => syntheticSample(i, { size: 16 })));
}

function python(code: string, ...args: string[]): void {
  const r = spawnSync('python3', ['-c', code, ...args], { encoding: 'utf8' });
  expect(r.status, r.stderr).toBe(0);
}

describe('readShard', () => {
  it('round-trips what the writer wrote', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'cliplab-r-'));
    const ss = await samples(5);
    await writeShard(join(dir, '000000.tar'), ss);
    const stats = newReadStats();
    const got = await collect(readShard(join(dir, '000000.tar'), { stats }));
    expect(got.map((r) => r.key)).toEqual(ss.map((s) => s.key));
    expect(Buffer.from(got[2]!.image).equals(Buffer.from(ss[2]!.image))).toBe(true);
    expect(got[2]!.caption).toBe(ss[2]!.caption);
    expect(got[2]!.meta).toEqual(ss[2]!.meta);
    expect(got[2]!.imageExt).toBe('png');
    expect(stats).toMatchObject({ shards: 1, samples: 5, truncatedShards: 0 });
  });

  it('skips and counts bad members written by an independent tar writer, reading the rest', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'cliplab-r-'));
    const path = join(dir, 'bad.tar');
    python(
      `import tarfile,io,sys
t=tarfile.open(sys.argv[1],'w',format=tarfile.USTAR_FORMAT)
def add(n,b):
  i=tarfile.TarInfo(n); i.size=len(b); t.addfile(i,io.BytesIO(b))
add('a.jpg',b'IMG'); add('a.txt','café'.encode())
add('../evil.jpg',b'X'); add('../evil.txt',b'x')
add('/abs.png',b'X'); add('/abs.txt',b'x')
add('b.png',b'IMG'); add('b.txt',b'\\xff\\xfe bad')
add('c.webp',b'IMG')
add('d.txt',b'no image')
add('dir/e.jpeg',b'IMG'); add('dir/e.txt',b'in dir'); add('dir/e.json',b'[1,2]')
add('f.jpg',b'IMG'); add('f.txt',b'last'); add('f.json',b'{"url":"u"}')
t.close()`,
      path,
    );
    const stats = newReadStats();
    const got = await collect(readShard(path, { stats }));
    expect(got.map((r) => [r.key, r.imageExt, r.caption])).toEqual([
      ['a', 'jpg', 'café'],
      ['dir/e', 'jpg', 'in dir'],
      ['f', 'jpg', 'last'],
    ]);
    expect(got[2]!.meta).toEqual({ url: 'u' });
    expect(stats).toMatchObject({ samples: 3, unsafeNames: 4, badCaptionEncoding: 1, missingCaption: 1, missingImage: 1, badMeta: 1 });
    expect(formatReadStats(stats)).toContain('unsafeNames=4');
  });

  it('keeps the samples before a truncation or a corrupt header', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'cliplab-r-'));
    const ss = await samples(10);
    const trunc = join(dir, 'trunc.tar');
    await writeShard(trunc, ss);
    truncateSync(trunc, Math.floor(statSync(trunc).size * 0.55) + 7);
    const stats = newReadStats();
    const got = await collect(readShard(trunc, { stats }));
    expect(got.length).toBeGreaterThan(2);
    expect(got.length).toBeLessThan(10);
    expect(got.map((r) => r.key)).toEqual(ss.slice(0, got.length).map((s) => s.key));
    expect(stats.truncatedShards).toBe(1);

    const corrupt = join(dir, 'corrupt.tar');
    await writeShard(corrupt, ss);
    const bytes = readFileSync(corrupt);
    // find the header of the 4th sample's image and garble its checksum area
    const name = Buffer.from(`${ss[3]!.key}.png`);
    const at = bytes.indexOf(name);
    bytes.fill(0x41, at + 100, at + 160);
    writeFileSync(corrupt, bytes);
    const s2 = newReadStats();
    const got2 = await collect(readShard(corrupt, { stats: s2 }));
    expect(got2.map((r) => r.key)).toEqual(ss.slice(0, 3).map((s) => s.key));
    expect(s2.truncatedShards).toBe(1);
  });

  it('counts empty and missing shards and reads on', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'cliplab-r-'));
    writeFileSync(join(dir, 'zero.tar'), '');
    writeFileSync(join(dir, 'eoa.tar'), Buffer.alloc(1024));
    await writeShard(join(dir, 'ok.tar'), await samples(2));
    const stats = newReadStats();
    const paths = ['zero.tar', 'eoa.tar', 'missing.tar', 'ok.tar'].map((n) => join(dir, n));
    const got = await collect(readShards(paths, { stats }));
    expect(got.length).toBe(2);
    expect(stats).toMatchObject({ emptyShards: 2, unreadableShards: 1, samples: 2 });
  });
});

describe('listShards', () => {
  it('lists a directory ignoring temp files, one file, brace patterns and :: lists', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'cliplab-l-'));
    for (const n of ['000001.tar', '000000.tar', '.000002.tar.tmp-1-abc', 'sizes.json']) writeFileSync(join(dir, n), '');
    expect(await listShards(dir)).toEqual([join(dir, '000000.tar'), join(dir, '000001.tar')]);
    expect(await listShards(join(dir, '{000000..000001}.tar'))).toEqual([join(dir, '000000.tar'), join(dir, '000001.tar')]);
    expect(await listShards(`${join(dir, '000001.tar')}::${join(dir, '000000.tar')}`)).toEqual([join(dir, '000001.tar'), join(dir, '000000.tar')]);
    await expect(listShards(join(dir, '{000000..000003}.tar'))).rejects.toThrow(/000002\.tar: no such shard/);
    expect(expandBraces('a{8..10}{x,y}')).toEqual(['a8x', 'a8y', 'a9x', 'a9y', 'a10x', 'a10y']);
    writeFileSync(join(dir, 'sizes.json'), JSON.stringify({ '000000.tar': 3, '000001.tar': 4 }));
    expect(await countFromSizesJson(await listShards(dir))).toBe(7);
  });
});
