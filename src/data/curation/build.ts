// `dataset build`: turns a dataset design (sources, counts or proportions, filters, seed) into shards plus
// manifest.json and samples.jsonl. Deterministic (same spec + seed → byte-identical output), atomic per
// shard, resumable, and in memory that does not grow with the dataset: pass 1 (plan.ts) writes candidates
// to disk, pass 2 (collect.ts) spools the picked samples into per-shard buckets, pass 3 (here) writes shards.
import { createHash } from 'node:crypto';
import { existsSync, promises as fsp, readFileSync, statSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { CliplabError, InputError } from '../../util/errors.js';
import { withDirLock } from '../../util/dir-lock.js';
import { digestFiles, firstChanged, readDigests, type FileDigest } from '../../util/content-hash.js';
import { checkFinished, checkShardEnd } from '../shards/complete.js';
import { writeJsonAtomic } from '../../util/fs.js';
import { progress } from '../../util/progress.js';
import { listShards } from '../shards/list.js';
import { shardName, writeShard, type ShardSample } from '../shards/writer.js';
import type { ShardInfo } from '../shards/writer.js';
import type { ClipScorerFactory } from './clip-score.js';
import { collect } from './collect.js';
import { openCaptionFilter } from './filters.js';
import { BuildInterrupted, planBuild, type Plan, type SourceReport } from './plan.js';
import { scoreSetup, stableJson } from './score-dataset.js';
import type { DatasetBuildFlags } from './options.js';
import type { DatasetSpec } from './spec.js';
import { readBucket } from './spool.js';

export { BuildInterrupted, type SourceReport } from './plan.js';

export type BuildOptions = Pick<DatasetBuildFlags, 'overwrite'> & {
  spec: DatasetSpec;
  /** Directory that relative paths in the spec resolve against (the spec file's directory). */
  baseDir: string;
  /** Spec file name, for error messages. */
  specFile?: string;
  out: string;
  /** Default: the factory registered with setClipScorerFactory. */
  clipScorerFactory?: ClipScorerFactory;
  signal?: AbortSignal;
  /** Called after each output shard is in place (also a test hook to interrupt the build). */
  onShard?: (info: ShardInfo, done: number, total: number) => void;
};

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
  /** The input shards' content hashes (part of specHash): a rerun with other content under the same names is refused. */
  inputs: FileDigest[];
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

/** JSON lines appended a batch at a time (never one huge string), fsynced on close. */
class JsonLines {
  private batch: string[] = [];
  private constructor(private readonly fh: fsp.FileHandle) {}
  static async create(path: string): Promise<JsonLines> {
    return new JsonLines(await fsp.open(path, 'w'));
  }
  async add(x: object): Promise<void> {
    this.batch.push(JSON.stringify(x) + '\n');
    if (this.batch.length >= 1000) await this.write();
  }
  private async write(): Promise<void> {
    await this.fh.write(this.batch.join(''));
    this.batch = [];
  }
  async close(): Promise<void> {
    try {
      await this.write();
      await this.fh.sync();
    } finally {
      await this.fh.close();
    }
  }
}

async function cleanStaleTemps(out: string): Promise<void> {
  for (const n of await fsp.readdir(out)) if (n.startsWith('.') && n.includes('.tmp-')) await fsp.rm(join(out, n), { force: true });
}

/** Pass 3: each bucket becomes one shard (unless already in place); samples.jsonl is written alongside. */
async function writeShards(o: BuildOptions, p: Plan, shardSize: number, work: string): Promise<{ file: string; count: number }[]> {
  const nShards = Math.ceil(p.total / shardSize);
  const lines = await JsonLines.create(join(work, 'samples.jsonl'));
  const bar = progress('writing shards', nShards, 'shards');
  const shards: { file: string; count: number }[] = [];
  try {
    for (let b = 0; b < nShards; b++) {
      const name = shardName('', b);
      const count = Math.min(shardSize, p.total - b * shardSize);
      shards.push({ file: name, count });
      const recs = readBucket(work, b);
      if (recs.length !== count) throw new CliplabError(`${work}: bucket ${b} holds ${recs.length} samples, expected ${count} (rerun with --overwrite)`);
      const key = (out: number): string => String(out).padStart(9, '0');
      for (const r of recs) {
        const origin = r.meta.origin as { source: string; shard: string; key: string };
        await lines.add({ key: key(r.out), source: origin.source, shard: origin.shard, origKey: origin.key, ...(r.score !== null ? { clipScore: r.score } : {}) });
      }
      if (existsSync(join(o.out, name))) continue;
      const samples: ShardSample[] = recs.map((r) => ({ key: key(r.out), image: r.image, imageExt: r.ext, caption: r.caption, meta: r.meta }));
      const info = await writeShard(join(o.out, name), samples);
      bar.tick();
      o.onShard?.(info, b + 1, nShards);
      if (o.signal?.aborted && b + 1 < nShards) throw new BuildInterrupted('dataset build interrupted');
    }
  } finally {
    bar.stop();
    await lines.close();
  }
  return shards;
}

/** Builds (or finishes building) the dataset, holding `out` meanwhile; returns its manifest. */
export async function buildDataset(o: BuildOptions): Promise<{ manifest: Manifest; resumed: boolean }> {
  return withDirLock(o.out, 'dataset build', () => buildLocked(o));
}

/** What differs between an existing dataset's inputs and this build's, for the refusal. */
function changedInput(old: Manifest, spec: DatasetSpec, inputs: FileDigest[]): string {
  if (stableJson(old.spec) !== stableJson(spec)) return 'another spec';
  if (!Array.isArray(old.inputs)) return 'inputs whose content an earlier cliplab did not record';
  const changed = firstChanged(inputs, old.inputs);
  if (changed) return `other input shards (${changed.file.path} has sha256 ${changed.file.sha256.slice(0, 12)}…, was ${changed.was.slice(0, 12)}…)`;
  return 'other input shards (the sources list other files)';
}

const readText = (path: string): string | null => (existsSync(path) ? readFileSync(path, 'utf8') : null);

/** The saved plan of an unfinished build of this spec, or null after clearing the way for a new one. */
async function resumeOrReset(o: BuildOptions, specHash: string, work: string): Promise<Plan | null> {
  const planPath = join(work, 'plan.json');
  const ours = !o.overwrite && readText(join(work, 'spec-hash')) === specHash;
  if (ours && existsSync(planPath)) {
    const old = JSON.parse(readFileSync(planPath, 'utf8')) as Plan;
    if (old.version === 2 && old.specHash === specHash) return old;
  }
  const leftovers = (await fsp.readdir(o.out)).filter((n) => (n.endsWith('.tar') && !n.startsWith('.')) || n === 'manifest.json' || n === 'sizes.json' || n === 'samples.jsonl' || n === 'removed.jsonl' || (n === '.build' && !ours));
  if (leftovers.length > 0 && !o.overwrite) throw new InputError(o.out, 'is not empty and holds no unfinished build of this spec (use --overwrite or another --out)');
  for (const n of leftovers) await fsp.rm(join(o.out, n), { recursive: true, force: true });
  // Killed in pass 1 of this spec: start it again, keeping the CLIP scores already computed.
  await fsp.mkdir(work, { recursive: true });
  for (const n of await fsp.readdir(work)) if (n !== 'scores') await fsp.rm(join(work, n), { recursive: true, force: true });
  await fsp.writeFile(join(work, 'spec-hash'), specHash);
  return null;
}

async function buildLocked(o: BuildOptions): Promise<{ manifest: Manifest; resumed: boolean }> {
  const { spec, out } = o;
  const where = o.specFile ?? 'spec';
  const shardSize = spec.shardSize ?? 1000;
  // Inputs must be complete: no writer still at work, no half-built dataset or ingest, no shard cut short.
  for (const s of spec.sources) {
    const dir = resolve(o.baseDir, s.path);
    if (existsSync(dir) && statSync(dir).isDirectory()) checkFinished(dir);
  }
  const shardLists = await Promise.all(spec.sources.map((s) => listShards(resolve(o.baseDir, s.path))));
  for (const l of shardLists) for (const sh of l) checkShardEnd(sh);
  const shardNames = shardLists.map((l) => l.map((s) => relative(o.baseDir, s)));
  await fsp.mkdir(out, { recursive: true });
  const manifestPath = join(out, 'manifest.json');
  const work = join(out, '.build');
  const old = existsSync(manifestPath) ? (JSON.parse(readFileSync(manifestPath, 'utf8')) as Manifest) : null;
  // Content, not names: a source shard replaced under the same name makes this another build.
  const inputs = await digestFiles(shardLists.flat(), old?.inputs ?? readDigests(join(work, 'inputs.json')));
  const specHash = createHash('sha256')
    .update(stableJson({ spec, shards: shardNames, sha256: inputs.map((d) => d.sha256) }))
    .digest('hex');
  if (old) {
    if (old.specHash === specHash && !o.overwrite) {
      await fsp.rm(work, { recursive: true, force: true }); // killed after the manifest, before the clean-up
      return { manifest: old, resumed: true };
    }
    if (!o.overwrite) throw new InputError(out, `holds a dataset built from ${changedInput(old, spec, inputs)} (use --overwrite or another --out)`);
  }
  let p = await resumeOrReset(o, specHash, work);
  await writeJsonAtomic(join(work, 'inputs.json'), inputs);
  const resumed = p !== null;
  if (!p) {
    const captionOk = await openCaptionFilter(spec.filters?.caption, o.baseDir);
    const scores = await scoreSetup(spec, o.baseDir, where, join(work, 'scores'), o.clipScorerFactory, o.signal);
    if (scores) {
      await fsp.mkdir(scores.dir, { recursive: true });
      for (const d of inputs) scores.digests.set(d.path, d.sha256);
    }
    p = await planBuild({ spec, baseDir: o.baseDir, where, signal: o.signal, clipScorerFactory: o.clipScorerFactory }, shardLists, specHash, work, captionOk, scores);
    await writeJsonAtomic(join(work, 'plan.json'), p);
  }
  await cleanStaleTemps(out);
  if (!existsSync(join(work, 'spool.done'))) await collect(o, p, shardLists, shardSize, work);
  const shards = await writeShards(o, p, shardSize, work);
  await writeJsonAtomic(join(out, 'sizes.json'), Object.fromEntries(shards.map((s) => [s.file, s.count])));
  const counts: Record<string, number> = {};
  for (const r of p.sources) counts[r.name] = r.selected;
  const manifest: Manifest = { version: 1, name: spec.name ?? null, seed: spec.seed, specHash, spec, total: p.total, shardSize, counts, sources: p.sources, shards, inputs, samplesFile: 'samples.jsonl', removed: p.removed };
  await fsp.rename(join(work, 'samples.jsonl'), join(out, 'samples.jsonl'));
  if (p.removed) await fsp.rename(join(work, 'removed.jsonl'), join(out, 'removed.jsonl')).catch(async (e: NodeJS.ErrnoException) => {
    if (e.code === 'ENOENT') await fsp.writeFile(join(out, 'removed.jsonl'), '');
    else throw e;
  });
  await writeJsonAtomic(manifestPath, manifest);
  await fsp.rm(work, { recursive: true, force: true });
  return { manifest, resumed };
}
