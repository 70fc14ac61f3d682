// Finished data jobs whose source shards changed since they were built, and every job downstream of them: a
// study rerun redoes these instead of reusing models trained on data the sources no longer hold. The check
// reads a built dataset's recorded input hashes (manifest.json `inputs`); files whose identity is unchanged are
// not read again, so an unchanged study costs a stat per source shard.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { digestFiles, type FileDigest } from '../util/content-hash.js';
import type { JobDefinition } from './store.js';

/** The first input shard of the dataset built in `dir` whose content changed (or is gone), or null. */
export async function changedInput(dir: string): Promise<string | null> {
  const file = join(dir, 'manifest.json');
  if (!existsSync(file)) return null;
  const inputs = (JSON.parse(readFileSync(file, 'utf8')) as { inputs?: FileDigest[] }).inputs;
  if (!Array.isArray(inputs)) return null; // built before inputs were recorded: nothing to compare
  for (const d of inputs) {
    if (!existsSync(d.path)) return d.path;
    const [now] = await digestFiles([d.path], [d]);
    if (now!.sha256 !== d.sha256) return d.path;
  }
  return null;
}

/** `roots` and every job that depends on one of them, directly or not. */
export function downstream(jobs: readonly JobDefinition[], roots: Iterable<string>): Set<string> {
  const out = new Set(roots);
  for (let grew = true; grew; ) {
    grew = false;
    for (const j of jobs)
      if (!out.has(j.id) && j.deps.some((d) => out.has(d))) {
        out.add(j.id);
        grew = true;
      }
  }
  return out;
}
