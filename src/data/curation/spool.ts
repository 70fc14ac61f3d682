// On-disk buckets for the dataset build's external shuffle: selected samples are appended to the bucket of
// their output shard, then each bucket is sorted and written as one shard. Memory stays bounded.
import { appendFileSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ImageExt } from '../shards/writer.js';

export interface SpoolRecord {
  /** Output index (position in the dataset). */
  out: number;
  ext: ImageExt;
  caption: string;
  meta: Record<string, unknown>;
  /** CLIP score for the manifest line, null when not scored. */
  score: number | null;
  image: Uint8Array;
}

export function bucketPath(dir: string, bucket: number): string {
  return join(dir, `bucket-${String(bucket).padStart(6, '0')}.bin`);
}

/** Appends records to bucket files, buffering up to `flushBytes` in memory. */
export class SpoolWriter {
  private readonly pending = new Map<number, Buffer[]>();
  private bytes = 0;
  private records = 0;

  /** Flushes at `flushBytes` or `flushRecords` (tiny samples cost more in object overhead than in bytes). */
  constructor(
    private readonly dir: string,
    private readonly flushBytes = 16 * 1024 * 1024,
    private readonly flushRecords = 20_000,
  ) {}

  add(bucket: number, rec: SpoolRecord): void {
    const head = Buffer.from(JSON.stringify({ out: rec.out, ext: rec.ext, caption: rec.caption, meta: rec.meta, score: rec.score }), 'utf8');
    const len = Buffer.alloc(8);
    len.writeUInt32LE(head.length, 0);
    len.writeUInt32LE(rec.image.byteLength, 4);
    const parts = this.pending.get(bucket) ?? [];
    parts.push(len, head, Buffer.from(rec.image.buffer, rec.image.byteOffset, rec.image.byteLength));
    this.pending.set(bucket, parts);
    this.bytes += 8 + head.length + rec.image.byteLength;
    if (this.bytes >= this.flushBytes || ++this.records >= this.flushRecords) this.flush();
  }

  flush(): void {
    for (const [bucket, parts] of this.pending) appendFileSync(bucketPath(this.dir, bucket), Buffer.concat(parts));
    this.pending.clear();
    this.bytes = 0;
    this.records = 0;
  }
}

/** All records of one bucket, sorted by output index. */
export function readBucket(dir: string, bucket: number): SpoolRecord[] {
  let buf: Buffer;
  try {
    buf = readFileSync(bucketPath(dir, bucket));
  } catch {
    return [];
  }
  const out: SpoolRecord[] = [];
  let p = 0;
  while (p + 8 <= buf.length) {
    const h = buf.readUInt32LE(p);
    const n = buf.readUInt32LE(p + 4);
    const head = JSON.parse(buf.toString('utf8', p + 8, p + 8 + h)) as Omit<SpoolRecord, 'image'>;
    const image = new Uint8Array(buf.buffer, buf.byteOffset + p + 8 + h, n);
    out.push({ ...head, image });
    p += 8 + h + n;
  }
  return out.sort((a, b) => a.out - b.out);
}
