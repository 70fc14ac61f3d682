// For tests only: read back ingest shards (members per key) and hash them, to compare runs.
import { createHash } from 'node:crypto';
import { createReadStream, promises as fsp } from 'node:fs';
import { join } from 'node:path';
import tar from 'tar-stream';

export interface ReadSample {
  key: string;
  jpg?: Buffer;
  txt?: string;
  json?: Record<string, unknown>;
}

/** Every sample of one tar, in file order. */
export async function readTar(path: string): Promise<ReadSample[]> {
  const extract = tar.extract();
  const byKey = new Map<string, ReadSample>();
  const done = new Promise<void>((resolve, reject) => {
    extract.on('entry', (header, stream, next) => {
      const chunks: Buffer[] = [];
      stream.on('data', (c: unknown) => {
        chunks.push(c as Buffer);
      });
      stream.on('end', () => {
        const body = Buffer.concat(chunks);
        const dot = header.name.indexOf('.');
        const key = header.name.slice(0, dot);
        const ext = header.name.slice(dot + 1);
        const s = byKey.get(key) ?? { key };
        if (ext === 'jpg') s.jpg = body;
        else if (ext === 'txt') s.txt = body.toString('utf8');
        else if (ext === 'json') s.json = JSON.parse(body.toString('utf8')) as Record<string, unknown>;
        byKey.set(key, s);
        next();
      });
      stream.resume();
    });
    extract.on('finish', resolve);
    extract.on('error', reject);
  });
  createReadStream(path).pipe(extract);
  await done;
  return [...byKey.values()];
}

/** Shard tar names in `dir`, sorted. */
export async function shardFiles(dir: string): Promise<string[]> {
  return (await fsp.readdir(dir)).filter((n) => n.endsWith('.tar')).sort();
}

/** sha256 of each shard tar, by name. */
export async function shardHashes(dir: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const n of await shardFiles(dir)) out[n] = createHash('sha256').update(await fsp.readFile(join(dir, n))).digest('hex');
  return out;
}

/** All samples of all shards in `dir`. */
export async function allSamples(dir: string): Promise<ReadSample[]> {
  const out: ReadSample[] = [];
  for (const n of await shardFiles(dir)) out.push(...(await readTar(join(dir, n))));
  return out;
}
