// Whether a shard directory and its shards are complete: no live writer, no unfinished dataset build or ingest,
// and every shard ends with its tar end-of-archive marker. Training and dataset builds check their inputs so.
import { closeSync, existsSync, fstatSync, openSync, readSync } from 'node:fs';
import { join } from 'node:path';
import { liveHolder } from '../../util/dir-lock.js';
import { InputError } from '../../util/errors.js';

/**
 * Refuses a directory whose writer has not finished: one still held by a live cliplab writer, a dataset build
 * killed before its manifest (shards but no manifest.json), an ingest killed before its stats. Reading such a
 * directory would quietly use part of the data.
 */
export function checkFinished(dir: string): void {
  const h = liveHolder(dir);
  if (h) throw new InputError(dir, `is being written by cliplab ${h.command} (pid ${h.pid}, since ${h.since}); use it once that finishes`);
  if (existsSync(join(dir, '.build')) && !existsSync(join(dir, 'manifest.json')))
    throw new InputError(dir, 'holds an unfinished dataset build (.build/ and no manifest.json): rerun the same cliplab dataset build to finish it');
  if (existsSync(join(dir, 'cliplab', 'ingest.json')) && !existsSync(join(dir, 'cliplab', 'stats.json')))
    throw new InputError(dir, 'holds an unfinished ingest (no cliplab/stats.json): rerun the same cliplab ingest to finish it');
}

/** The tar end-of-archive marker: two zero blocks. Every tar writer puts it (and pads to whole blocks). */
const END_BYTES = 1024;

/** Refuses a shard cut short (a copy or write that stopped): its size is not whole tar blocks, or it has no end marker. */
export function checkShardEnd(shard: string): void {
  const fd = openSync(shard, 'r');
  try {
    const size = fstatSync(fd).size;
    const truncated = (why: string): InputError => new InputError(shard, `truncated tar shard (${why}): copy or write it again`);
    if (size < END_BYTES || size % 512 !== 0) throw truncated(`${size} bytes, not a whole number of 512-byte blocks`);
    const tail = Buffer.alloc(END_BYTES);
    readSync(fd, tail, 0, END_BYTES, size - END_BYTES);
    if (tail.some((b) => b !== 0)) throw truncated('no end-of-archive marker');
  } finally {
    closeSync(fd);
  }
}
