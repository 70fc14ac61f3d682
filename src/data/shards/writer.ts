// WebDataset shard writer: deterministic POSIX ustar shards (<key>.<ext>, <key>.txt, <key>.json) written atomically,
// plus the OpenCLIP `sizes.json` beside them.
import { createWriteStream, promises as fsp } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import tar from 'tar-stream';
import { InputError, IoError } from '../../util/errors.js';
import { writeJsonAtomic } from '../../util/fs.js';

export type ImageExt = 'jpg' | 'png' | 'webp';

export interface ShardSample {
  /** WebDataset key: no dots, no backslash, not absolute, no `..` segment. */
  key: string;
  /** Encoded image bytes (as stored; not re-encoded). */
  image: Uint8Array;
  imageExt: ImageExt;
  /** UTF-8 caption, stored as `<key>.txt`. */
  caption: string;
  /** Stored as `<key>.json`: source, original id, url, width, height, clip_score when known. */
  meta: Record<string, unknown>;
}

export interface ShardInfo {
  /** Path of the shard as written (dir joined with the shard name). */
  file: string;
  /** Number of samples in it. */
  count: number;
}

export interface ShardWriterOptions {
  dir: string;
  /** Shard name prefix; default ''. Shards are named `<prefix>000000.tar`. */
  prefix?: string;
  /** Samples per shard; default 1000. */
  shardSize?: number;
  /** Index of the first shard; default 0. */
  startIndex?: number;
}

/** Fixed header fields so that the same samples give byte-identical shards. */
const FIXED = { mode: 0o644, uid: 0, gid: 0, uname: '', gname: '', mtime: new Date(0) } as const;
const encoder = new TextEncoder();

export const IMAGE_EXTS: readonly ImageExt[] = ['jpg', 'png', 'webp'];

/** Largest member written, and the reader's default limit: nothing a shard holds is dropped on reading. */
export const MAX_MEMBER_BYTES = 64 * 1024 * 1024;

/** Shard file name for index `i`: `<prefix>000000.tar`. */
export function shardName(prefix: string, index: number): string {
  return `${prefix}${String(index).padStart(6, '0')}.tar`;
}

/** Throws InputError unless `key` is a valid WebDataset key (see ShardSample.key). */
export function validateKey(key: string): void {
  const bad =
    key.length === 0 ||
    key.includes('.') ||
    key.includes('\\') ||
    key.includes('\0') ||
    key.startsWith('/') ||
    key.endsWith('/') ||
    key.split('/').some((seg) => seg === '');
  if (bad) throw new InputError(`sample key ${JSON.stringify(key)}`, 'keys must be non-empty, without dots, backslashes or empty/absolute path parts');
}

function tempName(path: string): string {
  // Starts with '.' and does not end in '.tar', so shard listings never pick it up.
  return join(dirname(path), `.${basename(path)}.tmp-${process.pid}-${Math.random().toString(36).slice(2, 8)}`);
}

/** One shard being written to a temp file; `finish()` fsyncs and renames it into place. */
class OpenShard {
  private readonly pack = tar.pack();
  private readonly out;
  private readonly done: Promise<void>;
  private readonly tmp: string;
  private failed: Error | null = null;
  count = 0;

  constructor(readonly path: string) {
    this.tmp = tempName(path);
    this.out = createWriteStream(this.tmp);
    this.done = new Promise<void>((resolve, reject) => {
      this.out.on('finish', resolve);
      this.out.on('error', reject);
      this.pack.on('error', reject);
    });
    this.done.catch((e: Error) => (this.failed = e));
    this.pack.pipe(this.out);
  }

  private entry(name: string, data: Uint8Array): Promise<void> {
    if (data.byteLength > MAX_MEMBER_BYTES)
      return Promise.reject(new InputError(`sample member ${name}`, `${data.byteLength} bytes, over the ${MAX_MEMBER_BYTES}-byte limit of a shard member`));
    return new Promise((resolve, reject) => {
      this.pack.entry({ name, size: data.byteLength, type: 'file', ...FIXED }, Buffer.from(data.buffer, data.byteOffset, data.byteLength), (err) =>
        err ? reject(err) : resolve(),
      );
    });
  }

  async add(s: ShardSample): Promise<void> {
    if (this.failed) throw this.failed;
    validateKey(s.key);
    if (!IMAGE_EXTS.includes(s.imageExt)) throw new InputError(`sample ${s.key}`, `image extension must be one of ${IMAGE_EXTS.join(', ')}`);
    await this.entry(`${s.key}.${s.imageExt}`, s.image);
    await this.entry(`${s.key}.json`, encoder.encode(JSON.stringify(s.meta)));
    await this.entry(`${s.key}.txt`, encoder.encode(s.caption));
    this.count++;
  }

  async finish(): Promise<ShardInfo> {
    this.pack.finalize();
    await this.done;
    const fh = await fsp.open(this.tmp, 'r+');
    try {
      await fh.sync();
    } finally {
      await fh.close();
    }
    await fsp.rename(this.tmp, this.path);
    return { file: this.path, count: this.count };
  }

  async abort(): Promise<void> {
    const closed = new Promise<void>((resolve) => (this.out.closed ? resolve() : this.out.once('close', () => resolve())));
    this.pack.destroy();
    this.out.destroy();
    await closed;
    await fsp.rm(this.tmp, { force: true });
  }
}

/** Writes one shard atomically (temp file + rename). */
export async function writeShard(path: string, samples: ShardSample[]): Promise<ShardInfo> {
  for (const s of samples) validateKey(s.key);
  await fsp.mkdir(dirname(path), { recursive: true });
  const shard = new OpenShard(path);
  try {
    for (const s of samples) await shard.add(s);
    return await shard.finish();
  } catch (e) {
    await shard.abort();
    throw IoError.from(e, path, 'cannot write shard');
  }
}

/** Merges `{ "<name>.tar": count }` entries into `<dir>/sizes.json` (atomic; keys sorted). */
export async function updateSizesJson(dir: string, entries: Record<string, number>): Promise<void> {
  const path = join(dir, 'sizes.json');
  let sizes: Record<string, number> = {};
  try {
    const parsed: unknown = JSON.parse(await fsp.readFile(path, 'utf8'));
    if (parsed && typeof parsed === 'object' && !Array.isArray(parsed)) sizes = parsed as Record<string, number>;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT' && !(e instanceof SyntaxError)) throw e;
  }
  Object.assign(sizes, entries);
  const sorted: Record<string, number> = {};
  for (const k of Object.keys(sizes).sort()) sorted[k] = sizes[k]!;
  await writeJsonAtomic(path, sorted);
}

/**
 * Streams samples into numbered shards, rolling over every `shardSize` samples. Each shard appears only
 * once complete (atomic rename); `close()` writes the last partial shard and merges counts into sizes.json.
 * Not safe for two writers on the same directory at once (sizes.json merge is read-modify-write).
 */
export class ShardWriter {
  readonly dir: string;
  readonly prefix: string;
  readonly shardSize: number;
  private index: number;
  private current: OpenShard | null = null;
  private readonly written: ShardInfo[] = [];
  private closed = false;
  private dirReady: Promise<unknown> | null = null;
  /** Calls run one after another even when callers do not await each write (a sample's members stay together). */
  private queue: Promise<unknown> = Promise.resolve();

  constructor(opts: ShardWriterOptions) {
    this.dir = opts.dir;
    this.prefix = opts.prefix ?? '';
    this.shardSize = opts.shardSize ?? 1000;
    this.index = opts.startIndex ?? 0;
    if (!Number.isInteger(this.shardSize) || this.shardSize < 1) throw new InputError('shardSize', 'must be a positive integer');
    if (!Number.isInteger(this.index) || this.index < 0) throw new InputError('startIndex', 'must be a non-negative integer');
    if (this.prefix.includes('/')) throw new InputError('prefix', 'must not contain "/"');
  }

  /** Shards completed so far (renamed into place). */
  get shards(): readonly ShardInfo[] {
    return this.written;
  }

  write(sample: ShardSample): Promise<void> {
    const run = this.queue.then(() => this.writeNow(sample));
    this.queue = run.catch(() => {});
    return run;
  }

  private async writeNow(sample: ShardSample): Promise<void> {
    if (this.closed) throw new Error('ShardWriter.write after close');
    if (!this.current) {
      this.dirReady ??= fsp.mkdir(this.dir, { recursive: true });
      await this.dirReady;
      this.current = new OpenShard(join(this.dir, shardName(this.prefix, this.index)));
    }
    const path = this.current.path;
    try {
      await this.current.add(sample);
    } catch (e) {
      await this.abort();
      throw IoError.from(e, path, 'cannot write shard');
    }
    if (this.current.count >= this.shardSize) await this.flush();
  }

  private async flush(): Promise<void> {
    const cur = this.current;
    if (!cur) return;
    this.current = null;
    try {
      this.written.push(await cur.finish());
    } catch (e) {
      await cur.abort();
      this.closed = true;
      throw IoError.from(e, cur.path, 'cannot write shard');
    }
    this.index++;
  }

  /** Finishes the open shard (if any sample is in it), updates sizes.json, returns every shard written. */
  async close(): Promise<ShardInfo[]> {
    await this.queue;
    if (this.closed) return [...this.written];
    this.closed = true;
    await this.flush();
    if (this.written.length > 0) {
      const entries: Record<string, number> = {};
      for (const s of this.written) entries[basename(s.file)] = s.count;
      await updateSizesJson(this.dir, entries);
    }
    return [...this.written];
  }

  /** Drops the open shard's temp file; completed shards stay. */
  async abort(): Promise<void> {
    this.closed = true;
    const cur = this.current;
    this.current = null;
    if (cur) await cur.abort();
  }
}
