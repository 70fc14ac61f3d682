// One writer per output directory: a lock file `.cliplab.lock` holding the writer's pid, start time, host and
// command. It is created with link(2) from a complete temp file (atomic, never half-written); a lock whose
// process is gone (pid dead or reused) is stale and taken over by rename, so two racing starters cannot both win.
import { closeSync, linkSync, mkdirSync, openSync, readFileSync, renameSync, rmdirSync, statSync, unlinkSync, writeSync } from 'node:fs';
import { hostname } from 'node:os';
import { join, resolve } from 'node:path';
import { randomBytes } from 'node:crypto';
import { InputError } from './errors.js';
import { removeStaleTemps } from './fs.js';
import { processIdentity } from './process.js';

export const LOCK_FILE = '.cliplab.lock';

export interface LockHolder {
  pid: number;
  /** The process's start time (clock ticks since boot, from /proc), or null where it is not known. */
  start: string | null;
  host: string;
  command: string;
  since: string;
  token: string;
}

export interface DirLock {
  dir: string;
  file: string;
  release(): void;
}

/** Directories this process holds (resolved path → token); released on exit, even after process.exit(). */
const held = new Map<string, string>();
process.on('exit', () => {
  for (const [dir, token] of held) removeIfOurs(join(dir, LOCK_FILE), token);
});

function readHolder(file: string): LockHolder | null {
  try {
    const v = JSON.parse(readFileSync(file, 'utf8')) as Partial<LockHolder>;
    if (typeof v.pid !== 'number' || typeof v.host !== 'string' || typeof v.token !== 'string') return null;
    return { pid: v.pid, start: typeof v.start === 'string' ? v.start : null, host: v.host, command: String(v.command ?? '?'), since: String(v.since ?? '?'), token: v.token };
  } catch {
    return null;
  }
}

/** A holder is live when it runs on another host (cannot be checked) or its pid still has the same start time. */
function isLive(h: LockHolder): boolean {
  if (h.host !== hostname()) return true;
  const id = processIdentity(h.pid);
  if (id === null) return false;
  return h.start === null || id === `${h.pid}:${h.start}` || id === String(h.pid);
}

function removeIfOurs(file: string, token: string): void {
  try {
    if (readHolder(file)?.token === token) unlinkSync(file);
  } catch {
    // already gone
  }
}

function writeTemp(path: string, text: string): void {
  const fd = openSync(path, 'wx', 0o644);
  try {
    writeSync(fd, text);
  } finally {
    closeSync(fd);
  }
}

/** Moves a stale lock aside; restores it if, between our look and the rename, another process had replaced it. */
function takeOver(file: string, staleIno: number): void {
  const aside = `${file}.stale-${process.pid}-${randomBytes(4).toString('hex')}`;
  try {
    renameSync(file, aside);
  } catch {
    return; // someone else moved it first
  }
  if (statSync(aside).ino === staleIno) unlinkSync(aside);
  else {
    try {
      linkSync(aside, file); // a live lock: put it back
    } catch {
      // a third writer got in meanwhile; it holds the directory now
    }
    unlinkSync(aside);
  }
}

/**
 * Takes the directory (creating it) for `command`, or throws InputError naming the directory and the live
 * holder. Release it with `release()` (also done at process exit); a directory the lock created and nothing
 * was written to is removed again, so a command refused for bad input leaves no trace.
 */
export function lockDir(dirArg: string, command: string): DirLock {
  const dir = resolve(dirArg);
  if (held.has(dir)) throw new InputError(dir, `this process is already writing this directory (cliplab ${command} twice at once?)`);
  const created = mkdirSync(dir, { recursive: true }) !== undefined;
  const file = join(dir, LOCK_FILE);
  const id = processIdentity(process.pid);
  const me: LockHolder = {
    pid: process.pid,
    start: id?.includes(':') ? id.split(':')[1]! : null,
    host: hostname(),
    command,
    since: new Date().toISOString(),
    token: randomBytes(8).toString('hex'),
  };
  const tmp = `${file}.${process.pid}-${me.token}`;
  writeTemp(tmp, JSON.stringify(me) + '\n');
  try {
    for (let attempt = 0; attempt < 5; attempt++) {
      try {
        linkSync(tmp, file);
        held.set(dir, me.token);
        removeStaleTemps(dir); // what writers killed here before left behind
        return { dir, file, release: () => release(dir, me.token, created) };
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      }
      let ino: number;
      try {
        ino = statSync(file).ino;
      } catch {
        continue; // released meanwhile
      }
      const h = readHolder(file);
      if (h && isLive(h)) {
        const where = h.host === hostname() ? `pid ${h.pid}` : `pid ${h.pid} on ${h.host}; if nothing runs there, remove ${file}`;
        throw new InputError(dir, `another cliplab ${h.command} (${where}, since ${h.since}) is writing this directory; wait for it to finish or stop it`);
      }
      takeOver(file, ino);
    }
    throw new InputError(dir, `could not take the lock ${file} (other writers keep replacing it)`);
  } finally {
    try {
      unlinkSync(tmp);
    } catch {
      // gone
    }
  }
}

function rmdirQuiet(dir: string): void {
  try {
    rmdirSync(dir); // only when empty
  } catch {
    // not empty: keep it
  }
}

function release(dir: string, token: string, created: boolean): void {
  if (held.get(dir) !== token) return;
  held.delete(dir);
  removeIfOurs(join(dir, LOCK_FILE), token);
  if (created) rmdirQuiet(dir);
}

/** The live writer holding `dir`, or null (no lock, or a stale one): for readers that must not read half-written output. */
export function liveHolder(dir: string): LockHolder | null {
  const h = readHolder(join(resolve(dir), LOCK_FILE));
  return h && isLive(h) ? h : null;
}

/** Runs `fn` holding `dir` (see lockDir); releases it however `fn` ends. */
export async function withDirLock<T>(dir: string, command: string, fn: () => Promise<T>): Promise<T> {
  const lock = lockDir(dir, command);
  try {
    return await fn();
  } finally {
    lock.release();
  }
}
