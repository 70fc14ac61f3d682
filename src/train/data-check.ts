// Checks the training data before anything is built: every source exists, has shards, has at least one
// sample that decodes, and has a known size (sizes.json, else counted by reading the shards once).
import { existsSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import { digestFiles, firstChanged, readDigests, type FileDigest } from '../util/content-hash.js';
import { InputError } from '../util/errors.js';
import { countFromSizesJson, listShards } from '../data/shards/list.js';
import { checkFinished, checkShardEnd } from '../data/shards/complete.js';
import { formatReadStats, newReadStats, readShards } from '../data/shards/reader.js';
import { preprocessImage } from '../data/images/transform.js';

export interface SourceInfo {
  path: string;
  shards: string[];
  /** Samples (from sizes.json, or counted). */
  size: number;
}

/** Records scanned for a decodable image before giving up on a source. */
const USABLE_SCAN_LIMIT = 1000;

export async function checkTrainData(paths: string[], imageSize: number): Promise<SourceInfo[]> {
  const out: SourceInfo[] = [];
  for (const path of paths) {
    const plain = !path.includes('::') && !path.includes('{');
    if (plain && !existsSync(path)) throw new InputError(path, 'data directory not found');
    if (plain && statSync(path).isDirectory()) checkFinished(path);
    const shards = await listShards(path);
    for (const s of shards) checkShardEnd(s);
    const fromSizes = await countFromSizesJson(shards);
    const stats = newReadStats();
    let counted = 0;
    let usable = false;
    let tried = 0;
    for await (const rec of readShards(shards, { stats })) {
      counted++;
      if (!usable && tried < USABLE_SCAN_LIMIT) {
        tried++;
        try {
          await preprocessImage(rec.image, { size: imageSize, mode: 'eval' });
          usable = true;
        } catch {
          stats.corruptImages++;
        }
      }
      if (usable && fromSizes !== null) break;
      if (!usable && tried >= USABLE_SCAN_LIMIT) break;
    }
    if (!usable) {
      const why = tried >= USABLE_SCAN_LIMIT ? `the first ${tried} samples all fail to decode` : `no usable sample in ${shards.length} shard(s)`;
      throw new InputError(path, `${why} (${formatReadStats(stats)})`);
    }
    out.push({ path, shards, size: fromSizes ?? counted });
  }
  return out;
}

/**
 * The training shards' content hashes; resuming, a shard whose content differs from what the run recorded
 * (`file`) is refused: the run would continue on other data under the same names.
 */
export async function checkDataContent(file: string, shards: string[], resuming: boolean, run: string): Promise<FileDigest[]> {
  const known = readDigests(file); // none: a new run, or one started before the hashes were recorded
  const digests = await digestFiles(shards.map((s) => resolve(s)), known);
  const changed = resuming ? firstChanged(digests, known) : null;
  if (changed)
    throw new InputError('--data', `${changed.file.path} is not the shard ${run} was trained on (sha256 ${changed.file.sha256.slice(0, 12)}…, was ${changed.was.slice(0, 12)}…): resume with the original data, or train into a new --out`);
  return digests;
}
