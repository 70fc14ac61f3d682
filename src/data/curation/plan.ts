// Pass 1 of `dataset build`: reads every source in spec order, applies the caption filters, drops duplicates
// and evaluation copies, looks up CLIP scores, and writes each source's candidates to disk; then decides how
// many of each source to take and how its scores are cut. Memory does not grow with the number of samples
// (but for the deduplication tables, see dedup.ts).
import { promises as fsp } from 'node:fs';
import { join, relative } from 'node:path';
import { CliplabError, InputError } from '../../util/errors.js';
import { progress, type Progress } from '../../util/progress.js';
import { countFromSizesJson } from '../shards/list.js';
import { newReadStats, readShard, type ReadStats, type ShardRecord } from '../shards/reader.js';
import { ImageDecodeError } from '../images/transform.js';
import { brokenImage } from '../images/header.js';
import { CandidateWriter, keyHash } from './candidates.js';
import type { ClipScorerFactory } from './clip-score.js';
import { dedupConfig, Deduplicator, type Removal } from './dedup.js';
import { laionRejection, type CaptionFilter } from './filters.js';
import { missingScore, shardScores, type ScoreSetup } from './scores.js';
import { summarizeCut, type Cut } from './select.js';
import { clipScoreFilter, resolveCounts, type DatasetSpec } from './spec.js';

export interface SourceReport {
  name: string;
  path: string;
  shards: number;
  /** Samples read intact from the source's shards. */
  read: number;
  rejected: Record<string, number>;
  /** Exact copies of an earlier sample (sha256). */
  duplicates: number;
  /** Near copies of an earlier sample (perceptual hash within maxDistance). */
  nearDuplicates: number;
  /** Copies or near copies of an evaluation image (`dedup.against`). */
  contaminated: number;
  /** Near copies of an earlier sample by CLIP image-embedding similarity (`dedup.clip`). */
  clipDuplicates: number;
  /** Near copies of an evaluation image by CLIP image-embedding similarity (`dedup.clip` with `against`). */
  clipContaminated: number;
  corruptImages: number;
  /** Candidates left after all filters. */
  eligible: number;
  /** Asked for (null: every eligible sample). */
  requested: number | null;
  selected: number;
  readStats: ReadStats;
}

/** Thrown when `signal` aborts the build; rerunning finishes it. */
export class BuildInterrupted extends CliplabError {
  override name = 'BuildInterrupted';
}

export interface Plan {
  /** The plan's layout; a plan of another version is not resumed. */
  version: 2;
  specHash: string;
  sources: SourceReport[];
  /** Per source: how its candidates are cut by score, and how many of the eligible are picked. */
  cuts: Cut[];
  /** Whether candidates carry CLIP scores. */
  scored: boolean;
  total: number;
  removed: { file: 'removed.jsonl'; count: number; evalImages: number } | null;
}

export const candidatesPath = (work: string, source: number): string => join(work, `candidates-${source}.bin`);

interface PlanContext {
  spec: DatasetSpec;
  where: string;
  baseDir: string;
  work: string;
  captionOk: CaptionFilter;
  dedup: Deduplicator | null;
  scores: ScoreSetup | null;
  shardNames: string[];
  bar: Progress;
  signal?: AbortSignal;
  removed: RemovedLog;
}

/** removed.jsonl, appended a batch at a time. */
class RemovedLog {
  private lines: string[] = [];
  constructor(readonly path: string) {}
  async add(line: object): Promise<void> {
    this.lines.push(JSON.stringify(line) + '\n');
    if (this.lines.length >= 1000) await this.flush();
  }
  async flush(): Promise<void> {
    if (this.lines.length) await fsp.appendFile(this.path, this.lines.join(''));
    this.lines = [];
  }
}

const newReport = (spec: DatasetSpec, i: number, shards: number, requested: number | null): SourceReport => ({
  name: spec.sources[i]!.name, path: spec.sources[i]!.path, shards, read: 0, rejected: {}, duplicates: 0, nearDuplicates: 0, contaminated: 0, clipDuplicates: 0, clipContaminated: 0, corruptImages: 0, eligible: 0, requested, selected: 0, readStats: newReadStats(),
});

const REMOVAL_COUNT: Record<Removal['reason'], 'duplicates' | 'nearDuplicates' | 'contaminated' | 'clipDuplicates' | 'clipContaminated'> = {
  duplicate: 'duplicates',
  nearDuplicate: 'nearDuplicates',
  contaminated: 'contaminated',
  clipDuplicate: 'clipDuplicates',
  clipContaminated: 'clipContaminated',
};

/** Reads one shard of source `i` (global shard index `g`), appending its candidates. */
async function planShard(c: PlanContext, i: number, j: number, g: number, shard: string, report: SourceReport, out: CandidateWriter): Promise<void> {
  const scores = c.scores ? await shardScores(c.scores, shard) : null;
  const keysInShard = new Set<string>();
  /** Deduplication, the score lookup and the candidate record, in read order. */
  const finish = async (rec: ShardRecord, ordinal: number, embedding?: Float32Array | null): Promise<void> => {
    if (c.dedup) {
      let r;
      try {
        r = await c.dedup.check(rec.image, i, g, rec.key, embedding);
      } catch (e) {
        if (!(e instanceof ImageDecodeError)) throw e;
        report.corruptImages++;
        return;
      }
      if (r) {
        report[REMOVAL_COUNT[r.reason]]++;
        await c.removed.add({ source: report.name, shard: c.shardNames[g], key: rec.key, ...r });
        return;
      }
    }
    let score = NaN;
    if (scores) {
      const s = scores.get(rec.key);
      if (s === undefined) throw missingScore(shard, rec.key);
      score = s;
    }
    out.add({ shard: j, ordinal, score, keyHash: keyHash(rec.key) });
  };
  // CLIP deduplication embeds a batch at a time; the batch is then checked in read order, so a sample is
  // compared with the earlier ones of its own batch too.
  const embedBatch = c.dedup?.needsEmbeddings?.batchSize ?? 0;
  let pending: { rec: ShardRecord; ordinal: number }[] = [];
  const flush = async (): Promise<void> => {
    const batch = pending;
    pending = [];
    if (batch.length === 0) return;
    const rows = await c.dedup!.embed(batch.map((p) => p.rec.image));
    for (const [k, p] of batch.entries()) await finish(p.rec, p.ordinal, rows[k]);
  };
  let ordinal = -1;
  for await (const rec of readShard(shard, { stats: report.readStats, signal: c.signal })) {
    ordinal++;
    c.bar.tick();
    report.read++;
    const reason = c.captionOk(rec.caption) ?? laionRejection(rec.meta, c.spec.sources[i]!) ?? (keysInShard.has(rec.key) ? 'duplicateKey' : null);
    if (reason) {
      report.rejected[reason] = (report.rejected[reason] ?? 0) + 1;
      continue;
    }
    keysInShard.add(rec.key);
    // Every build, filtered or not, leaves out images that are not whole (a copy of garbage is not a sample).
    if (brokenImage(rec.image) !== null) {
      report.corruptImages++;
      continue;
    }
    if (embedBatch > 0) {
      if (pending.push({ rec, ordinal }) >= embedBatch) await flush();
    } else await finish(rec, ordinal);
  }
  if (c.signal?.aborted) throw new BuildInterrupted('dataset build interrupted');
  await flush();
}

/** Pass 1 over all sources; returns the plan (the candidates are in `work`). */
export async function planBuild(o: { spec: DatasetSpec; baseDir: string; where: string; signal?: AbortSignal; clipScorerFactory?: ClipScorerFactory }, shardLists: string[][], specHash: string, work: string, captionOk: CaptionFilter, scores: ScoreSetup | null): Promise<Plan> {
  const { spec, baseDir, where } = o;
  const dd = dedupConfig(spec.filters?.dedup);
  const shardNames = shardLists.flat().map((sh) => relative(baseDir, sh));
  const removed = new RemovedLog(join(work, 'removed.jsonl'));
  await fsp.rm(removed.path, { force: true });
  const counts = resolveCounts(spec);
  const expected = (await countFromSizesJson(shardLists.flat())) ?? 0;
  // Opened last before the try below, whose finally releases its CLIP model.
  const dedup = dd ? await Deduplicator.open(dd, baseDir, spec.sources.map((s) => s.name), shardNames, where, o.clipScorerFactory) : null;
  const bar = progress('reading sources', expected, 'samples');
  const c: PlanContext = { spec, where, baseDir, work, captionOk, dedup, scores, shardNames, bar, signal: o.signal, removed };
  const clip = spec.filters?.clipScore ? clipScoreFilter(spec.filters.clipScore) : null;
  const reports: SourceReport[] = [];
  const cuts: Cut[] = [];
  let g = 0;
  try {
    for (const [i, list] of shardLists.entries()) {
      const report = newReport(spec, i, list.length, counts[i]!);
      const out = new CandidateWriter(candidatesPath(work, i));
      try {
        for (const [j, shard] of list.entries()) await planShard(c, i, j, g++, shard, report, out);
      } finally {
        out.close();
      }
      await removed.flush();
      const sum = summarizeCut(candidatesPath(work, i), scores !== null, clip);
      report.corruptImages += out.count - sum.valid;
      if (clip) report.rejected.clipScore = sum.valid - sum.eligible;
      report.eligible = sum.eligible;
      const want = counts[i] ?? sum.eligible;
      if (want > sum.eligible) {
        const key = spec.sources[i]!.count !== undefined ? 'count' : 'proportion';
        throw new InputError(`${where}: sources.${i}.${key}`, `source '${report.name}' needs ${want} samples but only ${sum.eligible} of ${report.read} pass the filters`);
      }
      report.selected = want;
      reports.push(report);
      cuts.push(sum.cut);
    }
  } finally {
    bar.stop();
    await scores?.scorer.close();
    await dedup?.close();
  }
  const nRemoved = reports.reduce((a, r) => a + Object.values(REMOVAL_COUNT).reduce((b, k) => b + r[k], 0), 0);
  const removedInfo = dedup ? { file: 'removed.jsonl' as const, count: nRemoved, evalImages: dedup.evalImages.hashed } : null;
  return { version: 2, specHash, sources: reports, cuts, scored: scores !== null, total: reports.reduce((a, r) => a + r.selected, 0), removed: removedInfo };
}
