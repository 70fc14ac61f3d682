// `dataset build`: turns a dataset design (sources, counts or proportions, filters, seed) into shards plus
// manifest.json. Deterministic (same spec + seed → byte-identical output), atomic per shard, and resumable.
import { createHash } from 'node:crypto';
import { existsSync, promises as fsp, readFileSync } from 'node:fs';
import { join, resolve, relative } from 'node:path';
import { CliplabError, InputError } from '../../util/errors.js';
import { withDirLock } from '../../util/dir-lock.js';
import { writeJsonAtomic } from '../../util/fs.js';
import { progress } from '../../util/progress.js';
import { Rng } from '../../util/rng.js';
import { seedFrom } from '../../util/seed.js';
import { countFromSizesJson, listShards } from '../shards/list.js';
import { newReadStats, readShard, type ReadStats } from '../shards/reader.js';
import { shardName, writeShard, type ShardInfo, type ShardSample } from '../shards/writer.js';
import { getClipScorerFactory, scoreItems, type ClipScorerFactory, type ScoreItem } from './clip-score.js';
import { compileCaptionFilter, laionRejection } from './filters.js';
import { dedupConfig, Deduplicator, type Removal } from './dedup.js';
import { ImageDecodeError } from '../images/transform.js';
import { resolveCounts, type DatasetSpec } from './spec.js';
import { readBucket, SpoolWriter } from './spool.js';

export interface BuildOptions {
  spec: DatasetSpec;
  /** Directory that relative paths in the spec resolve against (the spec file's directory). */
  baseDir: string;
  /** Spec file name, for error messages. */
  specFile?: string;
  out: string;
  /** Default: the factory registered with setClipScorerFactory. */
  clipScorerFactory?: ClipScorerFactory;
  /** Replace a different dataset already in `out`. */
  overwrite?: boolean;
  signal?: AbortSignal;
  /** Called after each output shard is in place (also a test hook to interrupt the build). */
  onShard?: (info: ShardInfo, done: number, total: number) => void;
}

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
  corruptImages: number;
  /** Candidates left after all filters. */
  eligible: number;
  /** Asked for (null: every eligible sample). */
  requested: number | null;
  selected: number;
  readStats: ReadStats;
}

export interface ManifestSample {
  key: string;
  source: string;
  /** Origin shard, relative to the spec's directory. */
  shard: string;
  origKey: string;
  clipScore?: number;
}

export interface Manifest {
  version: 1;
  name: string | null;
  seed: number;
  specHash: string;
  spec: DatasetSpec;
  total: number;
  shardSize: number;
  counts: Record<string, number>;
  sources: SourceReport[];
  shards: { file: string; count: number }[];
  /** One JSON line per output sample, in key order (a ManifestSample each): its provenance. */
  samplesFile: 'samples.jsonl';
  /** Samples removed as duplicates or evaluation copies, one JSON line each (null without `dedup`). */
  removed: { file: 'removed.jsonl'; count: number; evalImages: number } | null;
}

/** The per-sample lines of a built dataset's `samples.jsonl`, in key order. */
export async function* readManifestSamples(dir: string): AsyncGenerator<ManifestSample> {
  const { createInterface } = await import('node:readline');
  const { createReadStream } = await import('node:fs');
  for await (const line of createInterface({ input: createReadStream(join(dir, 'samples.jsonl')), crlfDelay: Infinity })) {
    if (line.trim()) yield JSON.parse(line) as ManifestSample;
  }
}

/** Writes JSON lines through a temp file and a rename, a batch at a time (never one huge string). */
async function writeSamples(path: string, samples: Iterable<ManifestSample>): Promise<void> {
  const tmp = `${path}.tmp-${process.pid}`;
  const fh = await fsp.open(tmp, 'w');
  try {
    let batch: string[] = [];
    for (const x of samples) {
      batch.push(JSON.stringify(x) + '\n');
      if (batch.length >= 10_000) {
        await fh.write(batch.join(''));
        batch = [];
      }
    }
    await fh.write(batch.join(''));
    await fh.sync();
  } finally {
    await fh.close();
  }
  await fsp.rename(tmp, path);
}

interface Plan {
  specHash: string;
  sources: SourceReport[];
  removed: Manifest['removed'];
  /** Output order: [source index, shard path (absolute), original key, clip score or null]. */
  selected: [number, string, string, number | null][];
}

/** Thrown when `signal` aborts the build; rerunning finishes it. */
export class BuildInterrupted extends CliplabError {
  override name = 'BuildInterrupted';
}

function stable(value: unknown): string {
  return JSON.stringify(value, (_k, v: unknown) => (v && typeof v === 'object' && !Array.isArray(v) ? Object.fromEntries(Object.entries(v).sort(([a], [b]) => a.localeCompare(b))) : v));
}

async function cleanStaleTemps(out: string): Promise<void> {
  for (const n of await fsp.readdir(out)) if (n.startsWith('.') && n.includes('.tmp-')) await fsp.rm(join(out, n), { force: true });
}

/** Pass 1: read every source, filter, dedup, score; pick each source's samples and the output order. */
async function plan(o: BuildOptions, shardLists: string[][], specHash: string, work: string): Promise<Plan> {
  const { spec, baseDir } = o;
  const where = o.specFile ?? 'spec';
  const captionOk = compileCaptionFilter(spec.filters?.caption, baseDir);
  const dd = dedupConfig(spec.filters?.dedup);
  const shardNames = shardLists.flat().map((sh) => relative(baseDir, sh));
  const dedup = dd ? await Deduplicator.open(dd, baseDir, spec.sources.map((s) => s.name), shardNames, where) : null;
  const removed = join(work, 'removed.jsonl');
  await fsp.rm(removed, { force: true });
  let removedLines: string[] = [];
  const writeRemoved = async () => {
    if (removedLines.length) await fsp.appendFile(removed, removedLines.join(''));
    removedLines = [];
  };
  let shardBase = 0;
  const clip = spec.filters?.clipScore;
  let scorer = null;
  if (clip) {
    const factory = o.clipScorerFactory ?? getClipScorerFactory();
    if (!factory) throw new InputError(`${where}: filters.clipScore.checkpoint`, 'no CLIP scorer is available in this build (the model engine is not wired to dataset build)');
    // hf-hub:org/name names a model in the Hugging Face cache, not a path.
    scorer = await factory(/^hf-hub:/.test(clip.checkpoint) ? clip.checkpoint : resolve(baseDir, clip.checkpoint));
  }
  const counts = resolveCounts(spec);
  const reports: SourceReport[] = [];
  const picked: { src: number; shard: string; key: string; score: number | null }[] = [];
  const totalKnown = await countFromSizesJson(shardLists.flat());
  const bar = progress('reading sources', totalKnown ?? 0, 'samples');
  try {
    for (const [i, src] of spec.sources.entries()) {
      const stats = newReadStats();
      const report: SourceReport = { name: src.name, path: src.path, shards: shardLists[i]!.length, read: 0, rejected: {}, duplicates: 0, nearDuplicates: 0, contaminated: 0, corruptImages: 0, eligible: 0, requested: counts[i]!, selected: 0, readStats: stats };
      const cands: { shard: string; key: string; score: number }[] = [];
      let pending: ScoreItem[] = [];
      let pendingIdx: number[] = [];
      const flush = async (): Promise<void> => {
        if (!scorer || pending.length === 0) return;
        const scores = await scoreItems(scorer, pending, clip!.batchSize ?? 64);
        pendingIdx.forEach((c, k) => (cands[c]!.score = scores[k]!));
        pending = [];
        pendingIdx = [];
      };
      for (const [j, shard] of shardLists[i]!.entries()) {
        const keysInShard = new Set<string>();
        for await (const rec of readShard(shard, { stats, signal: o.signal })) {
          bar.tick();
          report.read++;
          const reason = captionOk(rec.caption) ?? laionRejection(rec.meta, src);
          if (reason) {
            report.rejected[reason] = (report.rejected[reason] ?? 0) + 1;
            continue;
          }
          if (keysInShard.has(rec.key)) {
            report.rejected.duplicateKey = (report.rejected.duplicateKey ?? 0) + 1;
            continue;
          }
          keysInShard.add(rec.key);
          if (dedup) {
            let r: Removal | null;
            try {
              r = await dedup.check(rec.image, i, shardBase + j, rec.key);
            } catch (e) {
              if (!(e instanceof ImageDecodeError)) throw e;
              report.corruptImages++;
              continue;
            }
            if (r) {
              report[r.reason === 'duplicate' ? 'duplicates' : r.reason === 'nearDuplicate' ? 'nearDuplicates' : 'contaminated']++;
              removedLines.push(JSON.stringify({ source: src.name, shard: shardNames[shardBase + j], key: rec.key, ...r }) + '\n');
              if (removedLines.length >= 1000) await writeRemoved();
              continue;
            }
          }
          cands.push({ shard, key: rec.key, score: NaN });
          if (scorer) {
            pending.push({ image: rec.image, caption: rec.caption });
            pendingIdx.push(cands.length - 1);
            if (pending.length >= 1024) await flush();
          }
        }
        if (o.signal?.aborted) throw new BuildInterrupted('dataset build interrupted');
      }
      shardBase += shardLists[i]!.length;
      await writeRemoved();
      await flush();
      let eligible = cands.map((c, k) => ({ ...c, k }));
      if (scorer) {
        const valid = eligible.filter((c) => !Number.isNaN(c.score));
        report.corruptImages += eligible.length - valid.length;
        if (clip!.threshold !== undefined) eligible = valid.filter((c) => c.score >= clip!.threshold!);
        else eligible = [...valid].sort((a, b) => b.score - a.score || a.k - b.k).slice(0, Math.ceil(clip!.topFraction! * valid.length)).sort((a, b) => a.k - b.k);
        report.rejected.clipScore = valid.length - eligible.length;
      }
      report.eligible = eligible.length;
      const want = counts[i] ?? eligible.length;
      if (want > eligible.length) {
        const key = src.count !== undefined ? 'count' : 'proportion';
        throw new InputError(`${where}: sources.${i}.${key}`, `source '${src.name}' needs ${want} samples but only ${eligible.length} of ${report.read} pass the filters`);
      }
      const chosen = new Rng(seedFrom('pick', spec.seed, i)).shuffle(eligible.map((_, k) => k)).slice(0, want);
      for (const k of chosen) {
        const c = eligible[k]!;
        picked.push({ src: i, shard: c.shard, key: c.key, score: scorer ? c.score : null });
      }
      report.selected = want;
      reports.push(report);
    }
  } finally {
    bar.stop();
    await scorer?.close?.();
  }
  new Rng(seedFrom('order', spec.seed)).shuffle(picked);
  const nRemoved = reports.reduce((a, r) => a + r.duplicates + r.nearDuplicates + r.contaminated, 0);
  const removedInfo = dedup ? { file: 'removed.jsonl' as const, count: nRemoved, evalImages: dedup.evalImages.hashed } : null;
  return { specHash, sources: reports, removed: removedInfo, selected: picked.map((p) => [p.src, p.shard, p.key, p.score]) };
}

/** Pass 2: copy the selected samples into per-output-shard buckets. */
async function spool(o: BuildOptions, p: Plan, shardLists: string[][], shardSize: number, dir: string): Promise<void> {
  for (const n of await fsp.readdir(dir)) if (n.startsWith('bucket-')) await fsp.rm(join(dir, n));
  const wanted = new Map<string, Map<string, number>>();
  p.selected.forEach(([, shard, key], out) => {
    let m = wanted.get(shard);
    if (!m) wanted.set(shard, (m = new Map()));
    m.set(key, out);
  });
  const w = new SpoolWriter(dir);
  const bar = progress('collecting samples', p.selected.length, 'samples');
  for (const [i, list] of shardLists.entries()) {
    for (const shard of list) {
      const m = wanted.get(shard);
      if (!m) continue;
      for await (const rec of readShard(shard, { signal: o.signal })) {
        const out = m.get(rec.key);
        if (out === undefined) continue;
        m.delete(rec.key);
        const [, , , score] = p.selected[out]!;
        const meta: Record<string, unknown> = { ...rec.meta, origin: { source: o.spec.sources[i]!.name, shard: relative(o.baseDir, shard), key: rec.key } };
        if (score !== null) meta.clip_score = score;
        w.add(Math.floor(out / shardSize), { out, ext: rec.imageExt, caption: rec.caption, meta, image: rec.image });
        bar.tick();
      }
      if (o.signal?.aborted) throw new BuildInterrupted('dataset build interrupted');
      if (m.size > 0) throw new InputError(shard, `changed while building: ${m.size} selected samples are gone (rerun with --overwrite)`);
    }
  }
  w.flush();
  bar.stop();
  await fsp.writeFile(join(dir, 'spool.done'), '');
}

/** Builds (or finishes building) the dataset, holding `out` meanwhile; returns its manifest. */
export async function buildDataset(o: BuildOptions): Promise<{ manifest: Manifest; resumed: boolean }> {
  return withDirLock(o.out, 'dataset build', () => buildLocked(o));
}

async function buildLocked(o: BuildOptions): Promise<{ manifest: Manifest; resumed: boolean }> {
  const { spec, out } = o;
  const shardSize = spec.shardSize ?? 1000;
  const shardLists = await Promise.all(spec.sources.map((s) => listShards(resolve(o.baseDir, s.path))));
  const specHash = createHash('sha256')
    .update(stable({ spec, shards: shardLists.map((l) => l.map((s) => relative(o.baseDir, s))) }))
    .digest('hex');
  await fsp.mkdir(out, { recursive: true });
  const manifestPath = join(out, 'manifest.json');
  const work = join(out, '.build');
  const planPath = join(work, 'plan.json');
  if (existsSync(manifestPath)) {
    const old = JSON.parse(readFileSync(manifestPath, 'utf8')) as Manifest;
    if (old.specHash === specHash && !o.overwrite) {
      await fsp.rm(work, { recursive: true, force: true }); // killed after the manifest, before the clean-up
      return { manifest: old, resumed: true };
    }
    if (!o.overwrite) throw new InputError(out, 'holds a dataset built from another spec (use --overwrite or another --out)');
  }
  let p: Plan | null = null;
  if (existsSync(planPath)) {
    const old = JSON.parse(readFileSync(planPath, 'utf8')) as Plan;
    if (old.specHash === specHash && !o.overwrite) p = old;
  }
  const resumed = p !== null;
  if (!p) {
    const leftovers = (await fsp.readdir(out)).filter((n) => (n.endsWith('.tar') && !n.startsWith('.')) || n === 'manifest.json' || n === 'sizes.json' || n === 'samples.jsonl' || n === 'removed.jsonl' || n === '.build');
    if (leftovers.length > 0 && !o.overwrite) throw new InputError(out, 'is not empty and holds no unfinished build of this spec (use --overwrite or another --out)');
    for (const n of leftovers) await fsp.rm(join(out, n), { recursive: true, force: true });
    await fsp.mkdir(work, { recursive: true });
    p = await plan(o, shardLists, specHash, work);
    await writeJsonAtomic(planPath, p);
  }
  await cleanStaleTemps(out);
  const nShards = Math.ceil(p.selected.length / shardSize);
  if (!existsSync(join(work, 'spool.done'))) await spool(o, p, shardLists, shardSize, work);
  const bar = progress('writing shards', nShards, 'shards');
  const shards: { file: string; count: number }[] = [];
  for (let b = 0; b < nShards; b++) {
    const name = shardName('', b);
    const count = Math.min(shardSize, p.selected.length - b * shardSize);
    shards.push({ file: name, count });
    if (existsSync(join(out, name))) continue;
    const recs = readBucket(work, b);
    if (recs.length !== count) throw new CliplabError(`${work}: bucket ${b} holds ${recs.length} samples, expected ${count} (rerun with --overwrite)`);
    const samples: ShardSample[] = recs.map((r) => ({ key: String(r.out).padStart(9, '0'), image: r.image, imageExt: r.ext, caption: r.caption, meta: r.meta }));
    const info = await writeShard(join(out, name), samples);
    bar.tick();
    o.onShard?.(info, b + 1, nShards);
    if (o.signal?.aborted && b + 1 < nShards) throw new BuildInterrupted('dataset build interrupted');
  }
  bar.stop();
  await writeJsonAtomic(join(out, 'sizes.json'), Object.fromEntries(shards.map((s) => [s.file, s.count])));
  const counts: Record<string, number> = {};
  for (const r of p.sources) counts[r.name] = r.selected;
  const manifest: Manifest = {
    version: 1,
    name: spec.name ?? null,
    seed: spec.seed,
    specHash,
    spec,
    total: p.selected.length,
    shardSize,
    counts,
    sources: p.sources,
    shards,
    samplesFile: 'samples.jsonl',
    removed: p.removed,
  };
  await writeSamples(join(out, 'samples.jsonl'), p.selected.map(([src, shard, key, score], i) => ({
      key: String(i).padStart(9, '0'),
      source: spec.sources[src]!.name,
      shard: relative(o.baseDir, shard),
      origKey: key,
      ...(score !== null ? { clipScore: score } : {}),
    })));
  if (p.removed) await fsp.rename(join(work, 'removed.jsonl'), join(out, 'removed.jsonl')).catch(async (e: NodeJS.ErrnoException) => {
    if (e.code === 'ENOENT') await fsp.writeFile(join(out, 'removed.jsonl'), '');
    else throw e;
  });
  await writeJsonAtomic(manifestPath, manifest);
  await fsp.rm(work, { recursive: true, force: true });
  return { manifest, resumed };
}
