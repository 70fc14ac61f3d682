// Atomic file writes: write a temp file beside the target, fsync, rename. Readers never see half a file; a write
// that fails (disk full, permission denied) removes its temp file and throws one IoError naming the path.
// Temp files are `.<name>.tmp-<pid>-<rand>`, so a later run can tell a dead writer's leftovers from a live one's.
import { promises as fsp, readdirSync, rmSync } from 'node:fs';
import { dirname, basename, join } from 'node:path';
import { IoError } from './errors.js';
import { processAlive } from './process.js';

function tempPath(path: string): string {
  return join(dirname(path), `.${basename(path)}.tmp-${process.pid}-${Math.random().toString(36).slice(2, 8)}`);
}

const TEMP = /^\.(.+)\.tmp-(\d+)-[a-z0-9]+$/;

/**
 * Removes temp files in `dir` (not recursive) left by writers that are no longer running; `only` limits it to
 * the temps of one target name. Returns the names removed. A live writer's temp files are left alone.
 */
export function removeStaleTemps(dir: string, only?: string): string[] {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return [];
  }
  const removed: string[] = [];
  for (const n of names) {
    const m = TEMP.exec(n);
    if (!m || (only !== undefined && m[1] !== only)) continue;
    const pid = Number(m[2]);
    if (pid === process.pid || processAlive(pid)) continue;
    try {
      rmSync(join(dir, n), { force: true, recursive: true });
      removed.push(n);
    } catch {
      // cannot remove it: the write that needs the space will say so
    }
  }
  return removed;
}

async function removeQuiet(p: string): Promise<void> {
  await fsp.rm(p, { force: true }).catch(() => undefined);
}

export async function writeFileAtomic(path: string, data: string | Uint8Array): Promise<void> {
  try {
    await fsp.mkdir(dirname(path), { recursive: true });
  } catch (e) {
    throw IoError.from(e, dirname(path), 'cannot create directory');
  }
  const tmp = tempPath(path);
  try {
    const fh = await fsp.open(tmp, 'w');
    try {
      await fh.writeFile(data);
      await fh.sync();
    } finally {
      await fh.close();
    }
    await fsp.rename(tmp, path);
  } catch (e) {
    await removeQuiet(tmp);
    throw IoError.from(e, path, 'cannot write');
  }
}

export async function writeJsonAtomic(path: string, value: unknown): Promise<void> {
  await writeFileAtomic(path, JSON.stringify(value, null, 2) + '\n');
}
