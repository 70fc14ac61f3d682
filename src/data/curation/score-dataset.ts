// `dataset score`: the CLIP scores of a spec's input shards as per-shard files, one share of the shards per
// job (`--chunk I/N`, e.g. one Slurm array task each), so a cluster scores them in parallel before the build.
import { createHash } from 'node:crypto';
import { join, resolve } from 'node:path';
import { CliplabError, InputError } from '../../util/errors.js';
import { withDirLock } from '../../util/dir-lock.js';
import { progress } from '../../util/progress.js';
import { listShards } from '../shards/list.js';
import { getClipScorerFactory, type ClipScorerFactory } from './clip-score.js';
import { openCaptionFilter } from './filters.js';
import type { DatasetScoreFlags } from './options.js';
import { LazyScorer, readScoreFile, scoreShard, type ScoreSetup } from './scores.js';
import { clipScoreFilter, type DatasetSpec } from './spec.js';

/** Sorted-key JSON, so a hash of it does not depend on key order. */
export function stableJson(value: unknown): string {
  return JSON.stringify(value, (_k, v: unknown) => (v && typeof v === 'object' && !Array.isArray(v) ? Object.fromEntries(Object.entries(v).sort(([a], [b]) => a.localeCompare(b))) : v));
}

/**
 * The scoring setup of a spec with `filters.clipScore` (null without): score files in `filters.clipScore.scores`
 * or else `fallbackDir`; the model is loaded on first use.
 */
export async function scoreSetup(spec: DatasetSpec, baseDir: string, where: string, fallbackDir: string | null, factory: ClipScorerFactory | undefined, signal?: AbortSignal): Promise<ScoreSetup | null> {
  const clip = spec.filters?.clipScore;
  if (!clip) return null;
  const dir = clip.scores !== undefined ? resolve(baseDir, clip.scores) : fallbackDir;
  if (!dir) throw new InputError(`${where}: filters.clipScore.scores`, 'needed by dataset score: the directory where the per-shard score files go');
  // hf-hub:org/name names a model in the Hugging Face cache, not a path.
  const model = /^hf-hub:/.test(clip.checkpoint) ? clip.checkpoint : resolve(baseDir, clip.checkpoint);
  const scorer = new LazyScorer(async () => {
    const f = factory ?? getClipScorerFactory();
    if (!f) throw new InputError(`${where}: filters.clipScore.checkpoint`, 'no CLIP scorer is available in this build (the model engine is not wired to dataset build)');
    return f(model);
  });
  const filters = createHash('sha256').update(stableJson(spec.filters?.caption ?? null)).digest('hex').slice(0, 16);
  const captionOk = await openCaptionFilter(spec.filters?.caption, baseDir);
  return { dir, model, filters, captionOk, batchSize: clipScoreFilter(clip).batchSize, baseDir, scorer, signal, digests: new Map() };
}

/** chunk: this job's share, shards s (over all sources, in spec order) with s mod count = index. */
export type ScoreOptions = Pick<DatasetScoreFlags, 'chunk'> & {
  spec: DatasetSpec;
  baseDir: string;
  specFile?: string;
  clipScorerFactory?: ClipScorerFactory;
  signal?: AbortSignal;
};

export interface ScoreSummary {
  dir: string;
  /** Shards in this job's share. */
  shards: number;
  scored: number;
  /** Already scored under the same checkpoint and caption filters. */
  skipped: number;
  samples: number;
}

/** Scores this job's share of the spec's input shards into the spec's score directory. */
export async function scoreDataset(o: ScoreOptions): Promise<ScoreSummary> {
  const where = o.specFile ?? 'spec';
  if (!o.spec.filters?.clipScore) throw new InputError(`${where}: filters.clipScore`, 'the spec has no CLIP-score filter to score for');
  const s = (await scoreSetup(o.spec, o.baseDir, where, null, o.clipScorerFactory, o.signal))!;
  const all = [...new Set((await Promise.all(o.spec.sources.map((src) => listShards(resolve(o.baseDir, src.path))))).flat())];
  const { index, count } = o.chunk ?? { index: 0, count: 1 };
  const mine = all.filter((_, i) => i % count === index);
  // Jobs of one array write distinct files (each atomically) and hold only their share.
  const lock = count > 1 ? join(s.dir, `.chunk-${index}-of-${count}`) : s.dir;
  return withDirLock(lock, 'dataset score', async () => {
    const summary: ScoreSummary = { dir: s.dir, shards: mine.length, scored: 0, skipped: 0, samples: 0 };
    const bar = progress('scoring shards', mine.length, 'shards');
    try {
      for (const shard of mine) {
        if (o.signal?.aborted) break;
        const have = await readScoreFile(s, shard);
        const f = have ?? (await scoreShard(s, shard));
        summary[have ? 'skipped' : 'scored']++;
        summary.samples += f.keys.length;
        bar.tick();
      }
    } finally {
      bar.stop();
      await s.scorer.close();
    }
    if (o.signal?.aborted) throw new CliplabError('dataset score interrupted; rerun to finish');
    return summary;
  });
}
