// Streaming WebDataset shard reader: groups tar members by key, skips and counts broken samples instead of dying.
// Memory is one sample at a time (plus one member being read), whatever the number of shards.
import { createReadStream, promises as fsp } from 'node:fs';
import { posix } from 'node:path';
import tar from 'tar-stream';
import { MAX_MEMBER_BYTES, type ImageExt } from './writer.js';

/** A tar member being read (tar-stream's `Source`, which its types do not export). */
type Entry = AsyncIterable<unknown> & { header: tar.Header; resume(): unknown };

/** One sample as read back from a shard. */
export interface ShardRecord {
  key: string;
  image: Uint8Array;
  imageExt: ImageExt;
  caption: string;
  meta: Record<string, unknown>;
  /** Path of the shard it came from. */
  shard: string;
}

/** Named counters for what a read saw and skipped; callers print them (see `formatReadStats`). */
export interface ReadStats {
  /** Shards opened. */
  shards: number;
  /** Samples yielded. */
  samples: number;
  /** Shards with no member at all (0 bytes or only the end-of-archive blocks). */
  emptyShards: number;
  /** Shards that ended in a corrupt header or truncated data; what was read before the break was kept. */
  truncatedShards: number;
  /** Shards that could not be opened (missing, permission). */
  unreadableShards: number;
  /** Members whose name is absolute or has a `..` part (never grouped, never extracted). */
  unsafeNames: number;
  /** Members over `maxMemberBytes`. */
  oversizedMembers: number;
  /** Samples without an image member (jpg/jpeg/png/webp). */
  missingImage: number;
  /** Samples without a `.txt` caption. */
  missingCaption: number;
  /** Samples whose caption is not valid UTF-8. */
  badCaptionEncoding: number;
  /** `.json` members that are not a JSON object (the sample is kept with `meta = {}`). */
  badMeta: number;
  /** Images that failed to decode later in the pipeline (counted by the image decoder's callers). */
  corruptImages: number;
}

export function newReadStats(): ReadStats {
  return {
    shards: 0,
    samples: 0,
    emptyShards: 0,
    truncatedShards: 0,
    unreadableShards: 0,
    unsafeNames: 0,
    oversizedMembers: 0,
    missingImage: 0,
    missingCaption: 0,
    badCaptionEncoding: 0,
    badMeta: 0,
    corruptImages: 0,
  };
}

/** One line such as `read 3 shards, 2,990 samples; skipped: truncatedShards=1 missingCaption=2`. */
export function formatReadStats(s: ReadStats): string {
  const skipped = (Object.keys(s) as (keyof ReadStats)[]).filter((k) => k !== 'shards' && k !== 'samples' && s[k] > 0);
  const tail = skipped.length ? `; problems: ${skipped.map((k) => `${k}=${s[k]}`).join(' ')}` : '';
  return `read ${s.shards} shards, ${s.samples} samples${tail}`;
}

export interface ReadOptions {
  /** Counters to add to (a fresh object when omitted). */
  stats?: ReadStats;
  /** Members larger than this are skipped and counted; default 64 MiB. */
  maxMemberBytes?: number;
  signal?: AbortSignal;
}

const IMAGE_EXT: Record<string, ImageExt> = { jpg: 'jpg', jpeg: 'jpg', png: 'png', webp: 'webp' };

/** Splits a member name by the WebDataset rule: key = path up to the first dot of the basename. */
export function splitMemberName(name: string): { key: string; ext: string } | null {
  const slash = name.lastIndexOf('/');
  const dot = name.indexOf('.', slash + 1);
  if (dot <= slash + 1) return null; // no extension, or a dotfile
  return { key: name.slice(0, dot), ext: name.slice(dot + 1).toLowerCase() };
}

/** True for names that are absolute, contain a `..` part or a backslash/NUL (never safe to use as a path). */
export function isUnsafeMemberName(name: string): boolean {
  if (name.startsWith('/') || name.includes('\\') || name.includes('\0') || /^[A-Za-z]:/.test(name)) return true;
  return name.split('/').some((seg) => seg === '..');
}

interface Group {
  key: string;
  members: Map<string, Buffer>;
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

function finishGroup(g: Group, shard: string, stats: ReadStats): ShardRecord | null {
  let image: Buffer | undefined;
  let imageExt: ImageExt | undefined;
  for (const [ext, data] of g.members) {
    const ie = IMAGE_EXT[ext];
    if (ie && !image) {
      image = data;
      imageExt = ie;
    }
  }
  const txt = g.members.get('txt');
  if (!image || !imageExt) {
    stats.missingImage++;
    return null;
  }
  if (!txt) {
    stats.missingCaption++;
    return null;
  }
  let caption: string;
  try {
    caption = utf8.decode(txt);
  } catch {
    stats.badCaptionEncoding++;
    return null;
  }
  let meta: Record<string, unknown> = {};
  const js = g.members.get('json');
  if (js) {
    try {
      const parsed: unknown = JSON.parse(utf8.decode(js));
      if (parsed && typeof parsed === 'object' && !Array.isArray(parsed)) meta = parsed as Record<string, unknown>;
      else stats.badMeta++;
    } catch {
      stats.badMeta++;
    }
  }
  stats.samples++;
  const bytes = new Uint8Array(image.buffer, image.byteOffset, image.byteLength);
  return { key: g.key, image: bytes, imageExt, caption, meta, shard };
}

/** A member's bytes (null when over `max`: drained, not kept). Events, not `for await`: the async iterator's
 * objects and promises per member were a large share of the loader's garbage. */
function readMember(entry: Entry, max: number): Promise<Buffer | null> {
  const events = entry as unknown as NodeJS.EventEmitter; // a streamx Readable
  return new Promise((resolve, reject) => {
    const keep = (entry.header.size ?? 0) <= max;
    const chunks: Buffer[] = [];
    let ended = false;
    events.on('data', (c: Buffer) => {
      if (keep) chunks.push(c);
    });
    events.on('end', () => {
      ended = true;
      resolve(!keep ? null : chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks));
    });
    events.on('error', reject);
    events.on('close', () => {
      if (!ended) reject(new Error('tar member closed before its end'));
    });
  });
}

/**
 * Yields the samples of one shard in tar order. Consecutive members with the same key form a sample;
 * a broken tar keeps the samples read before the break (counted in `truncatedShards`).
 */
export async function* readShard(path: string, opts: ReadOptions = {}): AsyncGenerator<ShardRecord> {
  const stats = opts.stats ?? newReadStats();
  const max = opts.maxMemberBytes ?? MAX_MEMBER_BYTES;
  try {
    await fsp.access(path);
  } catch {
    stats.unreadableShards++;
    return;
  }
  stats.shards++;
  const extract = tar.extract();
  const input = createReadStream(path);
  input.on('error', (e) => extract.destroy(e));
  input.pipe(extract);
  let group: Group | null = null;
  let members = 0;
  try {
    for await (const entry of extract) {
      if (opts.signal?.aborted) break;
      const h = entry.header;
      const name = h.name;
      members++;
      if (h.type !== 'file' && h.type !== 'contiguous-file') {
        entry.resume();
        continue;
      }
      if (isUnsafeMemberName(name)) {
        stats.unsafeNames++;
        entry.resume();
        continue;
      }
      const split = splitMemberName(posix.normalize(name).replace(/^\.\//, ''));
      const data = await readMember(entry, max);
      if (data === null) {
        stats.oversizedMembers++;
        continue;
      }
      if (!split) continue;
      if (group && group.key !== split.key) {
        const rec = finishGroup(group, path, stats);
        group = null;
        if (rec) yield rec;
      }
      group ??= { key: split.key, members: new Map() };
      if (!group.members.has(split.ext)) group.members.set(split.ext, data);
    }
  } catch {
    stats.truncatedShards++;
  } finally {
    input.destroy();
    extract.destroy();
  }
  if (members === 0) stats.emptyShards++;
  if (group && !opts.signal?.aborted) {
    const rec = finishGroup(group, path, stats);
    if (rec) yield rec;
  }
}

/** Reads several shards one after another, with shared counters. */
export async function* readShards(paths: readonly string[], opts: ReadOptions = {}): AsyncGenerator<ShardRecord> {
  const stats = opts.stats ?? newReadStats();
  for (const p of paths) {
    if (opts.signal?.aborted) return;
    yield* readShard(p, { ...opts, stats });
  }
}
