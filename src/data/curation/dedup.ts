// Duplicate removal and decontamination for dataset builds: exact copies (sha256 of the bytes), near copies
// within the dataset and near copies of evaluation images (perceptual hash within maxDistance bits, and
// optionally CLIP image-embedding similarity). The first sample in spec order is kept; each removal names
// what it duplicates. Memory: ~60 bytes per kept sample when deduplicating within the dataset, 4·embedDim
// more with `clip`; the evaluation sets' size only for `against` alone.
import { createHash } from 'node:crypto';
import { existsSync, promises as fsp, statSync } from 'node:fs';
import { relative, resolve } from 'node:path';
import { InputError } from '../../util/errors.js';
import { listImageFiles, NEAR_DUPLICATE_DISTANCE, ReferenceSet } from '../images/hash-sets.js';
import { PerceptualHashIndex } from '../images/hash-index.js';
import { perceptualHash, type PHash } from '../images/phash.js';
import { ImageDecodeError } from '../images/transform.js';
import { listShards } from '../shards/list.js';
import { readShards } from '../shards/reader.js';
import { embedImages, getClipScorerFactory, type ClipScorer, type ClipScorerFactory } from './clip-score.js';
import type { DedupSpec } from './spec.js';

export interface DedupConfig {
  exact: boolean;
  near: boolean;
  maxDistance: number;
  against: string[];
  /** Near copies by CLIP image-embedding cosine similarity (null: not asked for). */
  clip: { checkpoint: string; minSimilarity: number; batchSize: number } | null;
}

/** `dedup: true` means exact duplicates only (as it always has); the object form adds near copies. */
export function dedupConfig(spec: DedupSpec | undefined): DedupConfig | null {
  if (spec === undefined || spec === false) return null;
  if (spec === true) return { exact: true, near: false, maxDistance: 0, against: [], clip: null };
  const clip = spec.clip ? { checkpoint: spec.clip.checkpoint, minSimilarity: spec.clip.minSimilarity, batchSize: spec.clip.batchSize ?? 64 } : null;
  return { exact: spec.exact ?? true, near: spec.near ?? false, maxDistance: spec.maxDistance ?? NEAR_DUPLICATE_DISTANCE, against: spec.against ?? [], clip };
}

/** What a removed sample duplicates: an earlier sample (`source`, `shard`, `key`) or an evaluation image. */
export interface Removal {
  reason: 'duplicate' | 'nearDuplicate' | 'contaminated' | 'clipDuplicate' | 'clipContaminated';
  of: { source: string; shard: string; key: string } | { eval: string };
  /** Hamming distance of the perceptual hashes (nearDuplicate, contaminated). */
  distance?: number;
  /** Cosine similarity of the CLIP image embeddings (clipDuplicate, clipContaminated), rounded to 1e-6. */
  similarity?: number;
}

/**
 * The most CLIP embeddings one index holds (kept samples, or evaluation images): 4·embedDim bytes each, about
 * 200 MB at 512 dimensions, and the brute-force scan is O(kept) per sample (see docs/data.md).
 */
export const CLIP_DEDUP_MAX_EMBEDDINGS = 100_000;

/** Float32 rounding of a dot product of unit vectors: an identical embedding may score 1 − 6e-8. */
const SIMILARITY_SLACK = 1e-6;

/** Unit-length embeddings in one growing array, searched by brute force (a dot product with each). */
export class EmbeddingIndex {
  private rows: Float32Array;
  size = 0;

  constructor(
    readonly dim: number,
    private readonly where: string,
    private readonly limit = CLIP_DEDUP_MAX_EMBEDDINGS,
  ) {
    this.rows = new Float32Array(dim * 256);
  }

  add(v: Float32Array): number {
    if (this.size >= this.limit) throw new InputError(this.where, `more than ${this.limit} embeddings to compare against: CLIP deduplication is a brute-force scan (use the perceptual hash, near: true, for larger sets)`);
    if ((this.size + 1) * this.dim > this.rows.length) this.rows = grow(this.rows, Math.min(this.rows.length * 2, this.limit * this.dim));
    this.rows.set(v, this.size * this.dim);
    return this.size++;
  }

  /** The most similar row (earliest on ties) if its cosine similarity is ≥ `min`; else null. */
  best(v: Float32Array, min: number): { index: number; similarity: number } | null {
    const d = this.dim;
    const r = this.rows;
    let bestI = -1;
    let bestS = -Infinity;
    for (let i = 0, o = 0; i < this.size; i++, o += d) {
      let s = 0;
      for (let j = 0; j < d; j++) s += r[o + j]! * v[j]!;
      if (s > bestS) {
        bestS = s;
        bestI = i;
      }
    }
    return bestI >= 0 && bestS >= min - SIMILARITY_SLACK ? { index: bestI, similarity: Math.round(bestS * 1e6) / 1e6 } : null;
  }
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

function grow<T extends Uint8Array | Uint32Array | Float32Array>(a: T, n: number): T {
  const b = new (a.constructor as new (n: number) => T)(n);
  b.set(a);
  return b;
}

/** The images of an evaluation set named in `against` (a shard directory, .tar or brace pattern, or an ImageFolder), labelled. */
async function* evalImages(dirArg: string, baseDir: string, where: string): AsyncGenerator<{ label: string; image: Uint8Array }> {
  const path = resolve(baseDir, dirArg);
  if (!existsSync(path)) throw new InputError(where, `no such evaluation set: ${path}`);
  let shards: string[] = [];
  try {
    shards = await listShards(path);
  } catch {
    shards = [];
  }
  if (shards.length > 0) for await (const rec of readShards(shards)) yield { label: `${dirArg}:${rec.key}`, image: rec.image };
  else if (statSync(path).isDirectory()) for (const file of await listImageFiles(path)) yield { label: `${dirArg}/${relative(path, file)}`, image: await fsp.readFile(file) };
}

/** The CLIP side of deduplication: the model, the kept samples' embeddings and the evaluation images'. */
class ClipIndex {
  private constructor(
    readonly scorer: ClipScorer,
    readonly minSimilarity: number,
    readonly batchSize: number,
    readonly where: string,
    readonly kept: EmbeddingIndex,
    readonly evals: EmbeddingIndex,
    readonly evalLabels: string[] = [],
  ) {}

  static async open(config: NonNullable<DedupConfig['clip']>, baseDir: string, where: string, factory: ClipScorerFactory | undefined): Promise<ClipIndex> {
    const f = factory ?? getClipScorerFactory();
    const key = `${where}: filters.dedup.clip.checkpoint`;
    if (!f) throw new InputError(key, 'no CLIP model is available in this build (the model engine is not wired to dataset build)');
    // hf-hub:org/name names a model in the Hugging Face cache, not a path.
    const scorer = await f(/^hf-hub:/.test(config.checkpoint) ? config.checkpoint : resolve(baseDir, config.checkpoint));
    if (!scorer.embedImages || !scorer.embedDim) {
      await scorer.close?.();
      throw new InputError(key, 'this CLIP model cannot embed images (its scorer has no image embeddings)');
    }
    const dim = scorer.embedDim;
    return new ClipIndex(scorer, config.minSimilarity, config.batchSize, key, new EmbeddingIndex(dim, `${where}: filters.dedup.clip (kept samples)`), new EmbeddingIndex(dim, `${where}: filters.dedup.clip (evaluation images)`));
  }

  /** One row per image (a view into one batch array), or null where the image does not decode. */
  async embed(images: Uint8Array[]): Promise<(Float32Array | null)[]> {
    const { dim, rows } = await embedImages(this.scorer, images, this.batchSize, this.where);
    return images.map((_, i) => {
      const v = rows.subarray(i * dim, (i + 1) * dim);
      return Number.isNaN(v[0]) ? null : v;
    });
  }

  async addEvals(batch: { label: string; image: Uint8Array }[]): Promise<void> {
    const rows = await this.embed(batch.map((b) => b.image));
    rows.forEach((v, i) => {
      if (!v) return; // undecodable: counted by the perceptual-hash set, which reads the same images
      this.evals.add(v);
      this.evalLabels.push(batch[i]!.label);
    });
  }
}

/** Decides, sample by sample in spec order, which to drop as duplicates or evaluation copies. */
export class Deduplicator {
  private readonly exact = new ExactTable();
  private readonly near = new PerceptualHashIndex();
  private readonly kept = new KeptSamples();

  private constructor(
    readonly config: DedupConfig,
    private readonly evalSet: ReferenceSet | null,
    private readonly clip: ClipIndex | null,
    private readonly sourceNames: string[],
    private readonly shardNames: string[],
  ) {}

  /**
   * `shardNames`: every source's shards, as they should appear in removal records (global shard index).
   * `factory` loads the model of `clip` (default: the registered one). Call close() when done.
   */
  static async open(config: DedupConfig, baseDir: string, sourceNames: string[], shardNames: string[], where: string, factory?: ClipScorerFactory): Promise<Deduplicator> {
    const clip = config.clip ? await ClipIndex.open(config.clip, baseDir, where, factory) : null;
    try {
      let set: ReferenceSet | null = null;
      if (config.against.length > 0) {
        set = new ReferenceSet();
        for (const [i, d] of config.against.entries()) {
          const at = `${where}: filters.dedup.against.${i}`;
          const before = set.labels.length;
          let batch: { label: string; image: Uint8Array }[] = [];
          for await (const x of evalImages(d, baseDir, at)) {
            await set.add(x.label, x.image);
            if (clip && batch.push(x) >= clip.batchSize) {
              await clip.addEvals(batch);
              batch = [];
            }
          }
          if (clip && batch.length) await clip.addEvals(batch);
          if (set.labels.length === before) throw new InputError(at, `${resolve(baseDir, d)} holds no images (an ImageFolder or a shard directory)`);
        }
      }
      return new Deduplicator(config, set, clip, sourceNames, shardNames);
    } catch (e) {
      await clip?.scorer.close?.();
      throw e;
    }
  }

  /** Releases the CLIP model, if one was loaded. */
  async close(): Promise<void> {
    await this.clip?.scorer.close?.();
  }

  /** Whether check() needs each sample's CLIP embedding (from embed(), a batch at a time). */
  get needsEmbeddings(): { batchSize: number } | null {
    return this.clip ? { batchSize: this.clip.batchSize } : null;
  }

  /** CLIP image embeddings of a batch of samples, for check(); null where the image does not decode. */
  embed(images: Uint8Array[]): Promise<(Float32Array | null)[]> {
    if (!this.clip) throw new Error('Deduplicator.embed: no clip configured');
    return this.clip.embed(images);
  }

  /** Evaluation images hashed (and how many could not be read). */
  get evalImages(): { hashed: number; unreadable: number } {
    return { hashed: this.evalSet?.labels.length ?? 0, unreadable: this.evalSet?.unreadable ?? 0 };
  }

  /**
   * Checks one sample (`shard`: global shard index) and remembers it when kept. Returns null to keep it;
   * throws ImageDecodeError when a perceptual hash is needed and the image does not decode, or when
   * `embedding` (embed()'s row for it, needed with `clip`) is null.
   */
  async check(image: Uint8Array, source: number, shard: number, key: string, embedding?: Float32Array | null): Promise<Removal | null> {
    const c = this.config;
    const clip = this.clip;
    if (clip && embedding === undefined) throw new Error('Deduplicator.check: clip needs the sample embedding');
    if (clip && embedding === null) throw new ImageDecodeError('corrupt', `${key}: the image does not decode for CLIP`);
    let ph: PHash | null = null;
    if (this.evalSet || c.near) ph = await perceptualHash(image);
    if (this.evalSet && ph) {
      const m = this.evalSet.nearest(ph, c.maxDistance);
      if (m) return { reason: 'contaminated', of: { eval: m.label }, distance: m.distance };
    }
    if (clip && embedding) {
      const m = clip.evals.best(embedding, clip.minSimilarity);
      if (m) return { reason: 'clipContaminated', of: { eval: clip.evalLabels[m.index]! }, similarity: m.similarity };
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
    if (clip && embedding) {
      const m = clip.kept.best(embedding, clip.minSimilarity);
      if (m) return { reason: 'clipDuplicate', of: this.describe(m.index), similarity: m.similarity };
    }
    if (!c.exact && !c.near && !clip) return null;
    // Kept: ids are the order of kept samples, in the exact table, the near index and the embeddings alike.
    const id = this.kept.add(source, shard, key);
    if (digest) this.exact.add(digest.readUInt32BE(0), digest.readUInt32BE(4), id);
    if (c.near && ph) this.near.add(ph);
    if (clip && embedding) clip.kept.add(embedding);
    return null;
  }

  private describe(id: number): { source: string; shard: string; key: string } {
    const k = this.kept.get(id);
    return { source: this.sourceNames[k.source]!, shard: this.shardNames[k.shard]!, key: k.key };
  }
}
