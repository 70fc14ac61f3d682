// The ingest output directory: paths kept inside --out, the run config a rerun must repeat, stale temp files,
// which shards are done, and the assembly of cliplab/stats.json from the per-shard stats on disk.
import { promises as fsp } from 'node:fs';
import { isAbsolute, join, relative, resolve } from 'node:path';
import { InputError } from '../../util/errors.js';
import { writeJsonAtomic } from '../../util/fs.js';
import { shardName } from '../shards/writer.js';
import { mergeStats, type OverallStats, type ShardStats } from './stats.js';

/** The options that fix shard contents; a rerun into the same --out must repeat them. */
export interface RunConfig {
  source: string;
  metadata: string[];
  shard_size: number;
  image_size: number;
  url_col: string | null;
  caption_col: string | null;
  min_similarity: number | null;
  max_punsafe: number | null;
  /** sha256 of each metadata file: a rerun with other content under the same names is refused. */
  metadata_sha256: string[];
}

/** cliplab's own files under --out: the run config and the overall stats (img2dataset's tools parse every
 * top-level `*.json` name as `<shard number>_…`, so only shard files sit at the top). */
export const CLIPLAB_DIR = 'cliplab';
const RUN_CONFIG = join(CLIPLAB_DIR, 'ingest.json');
export const OVERALL_STATS = join(CLIPLAB_DIR, 'stats.json');

/** Path of `name` under `out`; refuses anything that would land outside it. */
export function inside(out: string, name: string): string {
  const p = resolve(out, name);
  const rel = relative(out, p);
  if (rel === '' || rel.startsWith('..') || isAbsolute(rel)) throw new InputError('--out', `refusing to write outside ${out}: ${name}`);
  return p;
}

export function statsName(tar: string): string {
  return tar.replace(/\.tar$/, '_stats.json');
}

/** The sha256 of a metadata file (what a rerun is checked against: content, not names). */
export { sha256File } from '../../util/content-hash.js';

/**
 * Records the run config in `ingest.json`, or checks a rerun against it. Several processes of one run may
 * call this at once: they write the same bytes atomically.
 */
export async function checkRunConfig(out: string, cfg: RunConfig): Promise<void> {
  const path = inside(out, RUN_CONFIG);
  // Earlier versions kept it at the top of --out, where img2dataset's tools choke on it: move it.
  const legacy = inside(out, 'ingest.json');
  if (!(await exists(path)) && (await exists(legacy))) {
    await fsp.mkdir(inside(out, CLIPLAB_DIR), { recursive: true });
    await fsp.rename(legacy, path);
  }
  let prev: RunConfig | null = null;
  try {
    prev = JSON.parse(await fsp.readFile(path, 'utf8')) as RunConfig;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw new InputError(path, `unreadable: ${(e as Error).message}`);
  }
  if (prev) {
    if (!Array.isArray(prev.metadata_sha256))
      throw new InputError('--out', `${out} holds an ingest that did not record its metadata's content hashes, so a rerun cannot check it was made from these files: use a new --out`);
    const changed = cfg.metadata.findIndex((_, i) => prev.metadata[i] === cfg.metadata[i] && prev.metadata_sha256[i] !== cfg.metadata_sha256[i]);
    if (changed >= 0)
      throw new InputError('--metadata', `${cfg.metadata[changed]} is not the file ${out} was ingested from (sha256 ${cfg.metadata_sha256[changed]!.slice(0, 12)}…, was ${String(prev.metadata_sha256[changed]).slice(0, 12)}…): use a new --out, or the original file`);
    for (const k of Object.keys(cfg) as (keyof RunConfig)[]) {
      // A key an earlier version did not record had its default (null).
      if (JSON.stringify(prev[k] ?? null) !== JSON.stringify(cfg[k])) {
        throw new InputError('--out', `${out} holds an ingest with ${k}=${JSON.stringify(prev[k])}, not ${JSON.stringify(cfg[k])}: rerun with the same options or use a new --out`);
      }
    }
    return;
  }
  await writeJsonAtomic(path, cfg);
}

/**
 * Deletes temp files (`.<name>.tmp-<pid>-<rand>`) left by a killed run for the shards `mine` accepts (the
 * index in the name); other processes of the same run may be writing theirs right now.
 */
export async function removeStaleTemps(out: string, mine: (shardIndex: number) => boolean): Promise<void> {
  for (const n of await fsp.readdir(out)) {
    const m = /^\.(\d+)(?:\.tar|_stats\.json)\.tmp-\d+-[a-z0-9]+$/.exec(n);
    if (m && mine(Number(m[1]))) await fsp.rm(inside(out, n), { force: true });
  }
}

async function exists(p: string): Promise<boolean> {
  return fsp.access(p).then(
    () => true,
    () => false,
  );
}

/** Reads a finished shard's stats, or null when the shard is not done (missing tar or stats, bad stats). */
export async function doneStats(out: string, index: number): Promise<ShardStats | null> {
  const name = shardName('', index);
  if (!(await exists(inside(out, name)))) return null;
  try {
    return JSON.parse(await fsp.readFile(inside(out, statsName(name)), 'utf8')) as ShardStats;
  } catch {
    return null;
  }
}

export interface RunTiming {
  source: string;
  metadata: string[];
  shardsSkipped: number;
  durationS: number;
  rowsThisRun: number;
}

/**
 * When all `shards` of the input are done, writes `cliplab/stats.json` from their stats files and
 * returns the overall stats; otherwise returns how many are missing and writes nothing (another process
 * finishes them).
 */
export async function assembleStats(out: string, shards: number, run: RunTiming): Promise<{ overall: OverallStats | null; missing: number }> {
  const all: ShardStats[] = [];
  let missing = 0;
  for (let i = 0; i < shards; i++) {
    const s = await doneStats(out, i);
    if (s) all.push(s);
    else missing++;
  }
  if (missing > 0) return { overall: null, missing };
  const overall = mergeStats(all, run);
  await writeJsonAtomic(inside(out, OVERALL_STATS), overall);
  return { overall, missing: 0 };
}
