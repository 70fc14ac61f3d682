// Content hashes of input files, so that a rerun can check its inputs are the ones its output was made from
// (a file replaced under the same name is noticed). Hashing reads every byte once; a file whose identity
// (device, inode, size, mtime and ctime, in nanoseconds) is unchanged since a recorded digest keeps that
// digest without being read again. ctime cannot be set by a user, so a rewrite always shows.
import { createHash } from 'node:crypto';
import { createReadStream, promises as fsp, readFileSync } from 'node:fs';
import { InputError } from './errors.js';

export interface FileDigest {
  path: string;
  sha256: string;
  /** The file's identity when it was hashed (see above). */
  stat: string;
}

async function identity(path: string): Promise<string> {
  const s = await fsp.stat(path, { bigint: true });
  return `${s.dev}:${s.ino}:${s.size}:${s.mtimeNs}:${s.ctimeNs}`;
}

/** The sha256 of a file's bytes, read as a stream; an unreadable file is an InputError naming it. */
export async function sha256File(path: string): Promise<string> {
  const h = createHash('sha256');
  try {
    for await (const chunk of createReadStream(path)) h.update(chunk as Buffer);
  } catch (e) {
    throw new InputError(path, `cannot read: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  return h.digest('hex');
}

/** The sha256 of each file, reusing a `known` digest whose recorded identity still matches. */
export async function digestFiles(paths: readonly string[], known: readonly FileDigest[] = []): Promise<FileDigest[]> {
  const byPath = new Map(known.map((d) => [d.path, d]));
  const out: FileDigest[] = [];
  for (const path of paths) {
    const stat = await identity(path).catch((e: NodeJS.ErrnoException) => {
      throw new InputError(path, `cannot read: ${e.code ?? e.message}`);
    });
    const k = byPath.get(path);
    out.push(k && k.stat === stat ? k : { path, sha256: await sha256File(path), stat: await identity(path) });
  }
  return out;
}

/** A digest list recorded by an earlier run (`path`, JSON), or none when there is no readable record. */
export function readDigests(path: string): FileDigest[] {
  try {
    const v = JSON.parse(readFileSync(path, 'utf8')) as unknown;
    return Array.isArray(v) ? (v as FileDigest[]) : [];
  } catch {
    return [];
  }
}

/** The first file of `now` recorded in `before` with other content, with the sha256 it had then; or null. */
export function firstChanged(now: readonly FileDigest[], before: readonly FileDigest[]): { file: FileDigest; was: string } | null {
  const was = new Map(before.map((d) => [d.path, d.sha256]));
  const file = now.find((d) => was.has(d.path) && was.get(d.path) !== d.sha256);
  return file ? { file, was: was.get(file.path)! } : null;
}
