// Per-shard CLIP-score files: every sample of an input shard that the caption filters keep, scored once and
// stored as `<scores dir>/<shard name>-<hash>.json` (keys and scores in read order, plus the checkpoint and
// caption filters they were computed under). `dataset score` writes them in parallel jobs; `dataset build`
// reads them and scores only the shards without a valid file. Memory: one shard's keys and one batch.
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { basename, join, relative } from 'node:path';
import { InputError } from '../../util/errors.js';
import { writeFileAtomic } from '../../util/fs.js';
import { digestFiles } from '../../util/content-hash.js';
import { readShard } from '../shards/reader.js';
import { scoreItems, type ClipScorer, type ScoreItem } from './clip-score.js';
import type { CaptionFilter } from './filters.js';

export interface ScoreFile {
  version: 1;
  /** The scoring checkpoint as the spec resolves it. */
  model: string;
  /** Hash of the caption filters, which decide what is scored. */
  filters: string;
  /** The input shard, relative to the spec's directory. */
  shard: string;
  /** sha256 of the shard's bytes when it was scored: a shard replaced under the same name is scored again. */
  shard_sha256: string;
  keys: string[];
  /** Cosine similarity (float32), null where the image does not decode. */
  scores: (number | null)[];
}

/** A scorer made on first use (a build whose shards are all scored never loads the model). */
export class LazyScorer {
  private scorer: Promise<ClipScorer> | null = null;
  constructor(private readonly make: () => Promise<ClipScorer>) {}
  get(): Promise<ClipScorer> {
    return (this.scorer ??= this.make());
  }
  async close(): Promise<void> {
    if (this.scorer) await (await this.scorer).close?.();
    this.scorer = null;
  }
}

export interface ScoreSetup {
  dir: string;
  model: string;
  filters: string;
  captionOk: CaptionFilter;
  batchSize: number;
  baseDir: string;
  scorer: LazyScorer;
  signal?: AbortSignal;
  /** Shard path → sha256, filled as shards are hashed (a build passes the hashes it already has). */
  digests: Map<string, string>;
}

/** The shard's sha256 (hashed once per setup). */
async function shardSha256(s: ScoreSetup, shard: string): Promise<string> {
  let h = s.digests.get(shard);
  if (h === undefined) s.digests.set(shard, (h = (await digestFiles([shard]))[0]!.sha256));
  return h;
}

export function scoreFilePath(dir: string, relShard: string): string {
  const h = createHash('sha256').update(relShard).digest('hex').slice(0, 12);
  return join(dir, `${basename(relShard).replace(/\.tar$/, '')}-${h}.json`);
}

/** The shard's score file if it exists and was computed under this setup from these bytes; else null. */
export async function readScoreFile(s: ScoreSetup, shard: string): Promise<ScoreFile | null> {
  const rel = relative(s.baseDir, shard);
  const path = scoreFilePath(s.dir, rel);
  if (!existsSync(path)) return null;
  let f: ScoreFile;
  try {
    f = JSON.parse(readFileSync(path, 'utf8')) as ScoreFile;
  } catch {
    return null; // a torn or foreign file: score again
  }
  const ok = f.version === 1 && f.model === s.model && f.filters === s.filters && f.shard === rel && f.shard_sha256 === (await shardSha256(s, shard)) && Array.isArray(f.keys) && Array.isArray(f.scores) && f.keys.length === f.scores.length;
  return ok ? f : null;
}

/** Scores what the caption filters keep of one shard and writes its score file (atomically). */
export async function scoreShard(s: ScoreSetup, shard: string): Promise<ScoreFile> {
  const keys: string[] = [];
  const scores: (number | null)[] = [];
  const seen = new Set<string>();
  let batch: ScoreItem[] = [];
  const flush = async (): Promise<void> => {
    if (batch.length === 0) return;
    for (const x of await scoreItems(await s.scorer.get(), batch, s.batchSize)) scores.push(Number.isNaN(x) ? null : x);
    batch = [];
  };
  for await (const rec of readShard(shard, { signal: s.signal })) {
    if (s.captionOk(rec.caption) || seen.has(rec.key)) continue;
    seen.add(rec.key);
    keys.push(rec.key);
    batch.push({ image: rec.image, caption: rec.caption });
    if (batch.length >= s.batchSize) await flush();
  }
  await flush();
  const f: ScoreFile = { version: 1, model: s.model, filters: s.filters, shard: relative(s.baseDir, shard), shard_sha256: await shardSha256(s, shard), keys, scores };
  if (!s.signal?.aborted) await writeFileAtomic(scoreFilePath(s.dir, f.shard), JSON.stringify(f) + '\n');
  return f;
}

/** Key → score (NaN: image does not decode) for one shard, from its file or scored now. */
export async function shardScores(s: ScoreSetup, shard: string): Promise<Map<string, number>> {
  const f = (await readScoreFile(s, shard)) ?? (await scoreShard(s, shard));
  const m = new Map<string, number>();
  f.keys.forEach((k, i) => m.set(k, f.scores[i] ?? NaN));
  return m;
}

/** A score the build needs but the shard's score file lacks: the shard changed since it was scored. */
export function missingScore(shard: string, key: string): InputError {
  return new InputError(shard, `sample ${key} has no CLIP score in its score file: the shard changed since it was scored (delete the score file or rerun dataset score)`);
}
