// Duplicate removal and decontamination for dataset builds: exact copies (sha256 of the bytes), near copies
// within the dataset and near copies of evaluation images (perceptual hash within maxDistance bits). The
// first sample in spec order is kept; each removal names what it duplicates. Memory: ~60 bytes per kept
// sample when deduplicating within the dataset; the evaluation sets' size only for `against` alone.
import { createHash } from 'node:crypto';
import { existsSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import { InputError } from '../../util/errors.js';
import { NEAR_DUPLICATE_DISTANCE, ReferenceSet } from '../images/hash-sets.js';
import { PerceptualHashIndex } from '../images/hash-index.js';
import { perceptualHash, type PHash } from '../images/phash.js';
import { listShards } from '../shards/list.js';
import { readShards } from '../shards/reader.js';
import type { DedupSpec } from './spec.js';

export interface DedupConfig {
  exact: boolean;
  near: boolean;
  maxDistance: number;
  against: string[];
}

/** `dedup: true` means exact duplicates only (as it always has); the object form adds near copies. */
export function dedupConfig(spec: DedupSpec | undefined): DedupConfig | null {
  if (spec === undefined || spec === false) return null;
  if (spec === true) return { exact: true, near: false, maxDistance: 0, against: [] };
  return { exact: spec.exact ?? true, near: spec.near ?? false, maxDistance: spec.maxDistance ?? NEAR_DUPLICATE_DISTANCE, against: spec.against ?? [] };
}

/** What a removed sample duplicates: an earlier sample (`source`, `shard`, `key`) or an evaluation image. */
export interface Removal {
  reason: 'duplicate' | 'nearDuplicate' | 'contaminated';
  of: { source: string; shard: string; key: string } | { eval: string };
  distance?: number;
}

/** 64-bit keys → ids, open addressing (16 bytes per slot at most half full). */
class ExactTable {
  private keys = new Uint32Array(2 * 1024);
  private ids = new Int32Array(1024).fill(-1);
  private used = 0;

  private slot(hi: number, lo: number): number {
    const mask = this.ids.length - 1;
    let s = (lo ^ Math.imul(hi, 0x9e3779b1)) & mask;
    while (this.ids[s]! >= 0 && !(this.keys[2 * s] === hi && this.keys[2 * s + 1] === lo)) s = (s + 1) & mask;
    return s;
  }

  /** The id stored for `(hi, lo)`, or -1. */
  get(hi: number, lo: number): number {
    return this.ids[this.slot(hi, lo)]!;
  }

  add(hi: number, lo: number, id: number): void {
    if (2 * (this.used + 1) > this.ids.length) this.grow();
    const s = this.slot(hi, lo);
    if (this.ids[s]! < 0) this.used++;
    this.keys[2 * s] = hi;
    this.keys[2 * s + 1] = lo;
    this.ids[s] = id;
  }

  private grow(): void {
    const oldKeys = this.keys;
    const oldIds = this.ids;
    this.keys = new Uint32Array(oldKeys.length * 2);
    this.ids = new Int32Array(oldIds.length * 2).fill(-1);
    this.used = 0;
    for (let s = 0; s < oldIds.length; s++) if (oldIds[s]! >= 0) this.add(oldKeys[2 * s]!, oldKeys[2 * s + 1]!, oldIds[s]!);
  }
}

/** Where each kept sample came from (source, shard, key), packed: the keys as one UTF-8 byte string. */
class KeptSamples {
  private bytes = new Uint8Array(1 << 16);
  private ends = new Uint32Array(1024);
  private where = new Uint32Array(2 * 1024);
  private usedBytes = 0;
  size = 0;
  private readonly enc = new TextEncoder();
  private readonly dec = new TextDecoder();

  add(source: number, shard: number, key: string): number {
    const k = this.enc.encode(key);
    while (this.usedBytes + k.length > this.bytes.length) this.bytes = grow(this.bytes, this.bytes.length * 2);
    if (this.size === this.ends.length) {
      this.ends = grow(this.ends, this.ends.length * 2);
      this.where = grow(this.where, this.where.length * 2);
    }
    this.bytes.set(k, this.usedBytes);
    this.usedBytes += k.length;
    this.ends[this.size] = this.usedBytes;
    this.where[2 * this.size] = source;
    this.where[2 * this.size + 1] = shard;
    return this.size++;
  }

  get(id: number): { source: number; shard: number; key: string } {
    const start = id === 0 ? 0 : this.ends[id - 1]!;
    return { source: this.where[2 * id]!, shard: this.where[2 * id + 1]!, key: this.dec.decode(this.bytes.subarray(start, this.ends[id]!)) };
  }
}

function grow<T extends Uint8Array | Uint32Array>(a: T, n: number): T {
  const b = new (a.constructor as new (n: number) => T)(n);
  b.set(a);
  return b;
}

/** Adds an evaluation set named in `against`: a shard directory (or .tar / brace pattern) or an ImageFolder. */
async function addEvalSet(dirArg: string, baseDir: string, into: ReferenceSet, where: string): Promise<void> {
  const path = resolve(baseDir, dirArg);
  if (!existsSync(path)) throw new InputError(where, `no such evaluation set: ${path}`);
  const before = into.labels.length;
  let shards: string[] = [];
  try {
    shards = await listShards(path);
  } catch {
    shards = [];
  }
  if (shards.length > 0) for await (const rec of readShards(shards)) await into.add(`${dirArg}:${rec.key}`, rec.image);
  else if (statSync(path).isDirectory()) await into.addImageFolder(path, `${dirArg}/`);
  if (into.labels.length === before) throw new InputError(where, `${path} holds no images (an ImageFolder or a shard directory)`);
}

/** Decides, sample by sample in spec order, which to drop as duplicates or evaluation copies. */
export class Deduplicator {
  private readonly exact = new ExactTable();
  private readonly near = new PerceptualHashIndex();
  private readonly kept = new KeptSamples();

  private constructor(
    readonly config: DedupConfig,
    private readonly evalSet: ReferenceSet | null,
    private readonly sourceNames: string[],
    private readonly shardNames: string[],
  ) {}

  /** `shardNames`: every source's shards, as they should appear in removal records (global shard index). */
  static async open(config: DedupConfig, baseDir: string, sourceNames: string[], shardNames: string[], where: string): Promise<Deduplicator> {
    let set: ReferenceSet | null = null;
    if (config.against.length > 0) {
      set = new ReferenceSet();
      for (const [i, d] of config.against.entries()) await addEvalSet(d, baseDir, set, `${where}: filters.dedup.against.${i}`);
    }
    return new Deduplicator(config, set, sourceNames, shardNames);
  }

  /** Evaluation images hashed (and how many could not be read). */
  get evalImages(): { hashed: number; unreadable: number } {
    return { hashed: this.evalSet?.labels.length ?? 0, unreadable: this.evalSet?.unreadable ?? 0 };
  }

  /**
   * Checks one sample (`shard`: global shard index) and remembers it when kept. Returns null to keep it;
   * throws ImageDecodeError when a perceptual hash is needed and the image does not decode.
   */
  async check(image: Uint8Array, source: number, shard: number, key: string): Promise<Removal | null> {
    const c = this.config;
    let ph: PHash | null = null;
    if (this.evalSet || c.near) ph = await perceptualHash(image);
    if (this.evalSet && ph) {
      const m = this.evalSet.nearest(ph, c.maxDistance);
      if (m) return { reason: 'contaminated', of: { eval: m.label }, distance: m.distance };
    }
    let digest: Buffer | null = null;
    if (c.exact) {
      digest = createHash('sha256').update(image).digest();
      const prev = this.exact.get(digest.readUInt32BE(0), digest.readUInt32BE(4));
      if (prev >= 0) return { reason: 'duplicate', of: this.describe(prev) };
    }
    if (c.near && ph) {
      const m = this.near.nearest(ph, c.maxDistance);
      if (m) return { reason: 'nearDuplicate', of: this.describe(m.index), distance: m.distance };
    }
    if (!c.exact && !c.near) return null;
    // Kept: ids are the order of kept samples, in the exact table and the near index alike.
    const id = this.kept.add(source, shard, key);
    if (digest) this.exact.add(digest.readUInt32BE(0), digest.readUInt32BE(4), id);
    if (c.near && ph) this.near.add(ph);
    return null;
  }

  private describe(id: number): { source: string; shard: string; key: string } {
    const k = this.kept.get(id);
    return { source: this.sourceNames[k.source]!, shard: this.shardNames[k.shard]!, key: k.key };
  }
}
