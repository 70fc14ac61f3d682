// Tests for the shard writer: layout checked by python's tarfile, determinism, rollover, sizes.json.
import { describe, it, expect } from 'vitest';
import { mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { ShardWriter, writeShard, type ShardSample } from './writer.js';

function sample(i: number): ShardSample {
  return {
    key: `s${String(i).padStart(4, '0')}`,
    image: new Uint8Array([0xff, 0xd8, i & 255, 0xff, 0xd9]),
    imageExt: 'jpg',
    caption: `a photo number ${i} — ü`,
    meta: { source: 'test', id: i },
  };
}

function pyList(path: string): { name: string; size: number; mode: number; mtime: number; uid: number; uname: string}[] {
  const code = `import tarfile,json,sys
t=tarfile.open(sys.argv[1])
print(json.dumps([dict(name=m.name,size=m.size,mode=m.mode,mtime=m.mtime,uid=m.uid,uname=m.uname) for m in t.getmembers()]))`;
  const r = spawnSync('python3', ['-c', code, path], { encoding: 'utf8' });
  expect(r.status, r.stderr).toBe(0);
  return JSON.parse(r.stdout);
}

describe('ShardWriter', () => {
  it('writes ustar shards with key layout python can read, rolling over and writing sizes.json', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'cliplab-w-'));
    const w = new ShardWriter({ dir, shardSize: 3, prefix: 'p-' });
    for (let i = 0; i < 7; i++) await w.write(sample(i));
    const infos = await w.close();
    expect(infos.map((s) => s.count)).toEqual([3, 3, 1]);
    expect(readdirSync(dir).sort()).toEqual(['p-000000.tar', 'p-000001.tar', 'p-000002.tar', 'sizes.json']);
    expect(JSON.parse(readFileSync(join(dir, 'sizes.json'), 'utf8'))).toEqual({ 'p-000000.tar': 3, 'p-000001.tar': 3, 'p-000002.tar': 1 });
    const members = pyList(join(dir, 'p-000000.tar'));
    expect(members.map((m) => m.name)).toEqual(['s0000.jpg', 's0000.json', 's0000.txt', 's0001.jpg', 's0001.json', 's0001.txt', 's0002.jpg', 's0002.json', 's0002.txt']);
    for (const m of members) expect([m.mode, m.mtime, m.uid, m.uname]).toEqual([0o644, 0, 0, '']);
    // POSIX ustar magic + version in the first header
    const raw = readFileSync(join(dir, 'p-000000.tar'));
    expect(raw.subarray(257, 265).toString('latin1')).toBe('ustar\u000000');
    // python extracts the caption as UTF-8
    const r = spawnSync('python3', ['-c', `import tarfile,sys;t=tarfile.open(sys.argv[1]);sys.stdout.write(t.extractfile('s0001.txt').read().decode('utf-8'))`, join(dir, 'p-000000.tar')], { encoding: 'utf8' });
    expect(r.stdout).toBe('a photo number 1 — ü');
  });

  it('keeps samples whole when writes are not awaited one by one', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'cliplab-w-'));
    const w = new ShardWriter({ dir, shardSize: 4 });
    await Promise.all([0, 1, 2, 3, 4, 5].map((i) => w.write(sample(i))));
    expect((await w.close()).map((s) => s.count)).toEqual([4, 2]);
    expect(pyList(join(dir, '000000.tar')).map((m) => m.name).slice(0, 6)).toEqual(['s0000.jpg', 's0000.json', 's0000.txt', 's0001.jpg', 's0001.json', 's0001.txt']);
  });

  it('merges an existing sizes.json and continues from startIndex', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'cliplab-w-'));
    writeFileSync(join(dir, 'sizes.json'), JSON.stringify({ '000000.tar': 5 }));
    const w = new ShardWriter({ dir, startIndex: 1 });
    await w.write(sample(1));
    await w.close();
    expect(JSON.parse(readFileSync(join(dir, 'sizes.json'), 'utf8'))).toEqual({ '000000.tar': 5, '000001.tar': 1 });
  });

  it('is deterministic: same samples give byte-identical shards; no temp files remain', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'cliplab-w-'));
    const samples = [0, 1, 2].map(sample);
    await writeShard(join(dir, 'a.tar'), samples);
    await writeShard(join(dir, 'b.tar'), samples);
    expect(Buffer.compare(readFileSync(join(dir, 'a.tar')), readFileSync(join(dir, 'b.tar')))).toBe(0);
    expect(readdirSync(dir).sort()).toEqual(['a.tar', 'b.tar']);
  });

  it('rejects bad keys without leaving a temp file', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'cliplab-w-'));
    for (const key of ['a.b', '../x', '/abs', '', 'a//b']) {
      await expect(writeShard(join(dir, 'x.tar'), [{ ...sample(0), key }])).rejects.toThrow(/key/);
    }
    expect(readdirSync(dir)).toEqual([]);
  });
});
