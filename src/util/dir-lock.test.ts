// The directory lock: one holder at a time, a live holder named in the error, stale locks (dead pid, reused
// pid, garbage) taken over, release only of our own lock, and exactly one winner among racing processes.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { LOCK_FILE, lockDir, withDirLock } from './dir-lock.js';
import { processIdentity } from './process.js';

const tmp = (): string => mkdtempSync(join(tmpdir(), 'cliplab-lock-'));
const children: ChildProcess[] = [];
afterEach(() => {
  for (const c of children.splice(0)) c.kill('SIGKILL');
});

/** A node process that sleeps until killed. */
async function sleeper(): Promise<ChildProcess> {
  const c = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { stdio: 'ignore' });
  children.push(c);
  await new Promise((r) => c.once('spawn', r));
  return c;
}

function fakeHolder(dir: string, pid: number, start: string | null, host = hostname()): void {
  writeFileSync(join(dir, LOCK_FILE), JSON.stringify({ pid, start, host, command: 'train', since: '2020-01-01T00:00:00Z', token: 'theirs' }));
}

describe('lockDir', () => {
  it('refuses a second holder in the same process, and frees the directory on release', () => {
    const dir = tmp();
    const a = lockDir(dir, 'train');
    expect(() => lockDir(dir, 'train')).toThrow(/already writing this directory/);
    a.release();
    expect(existsSync(join(dir, LOCK_FILE))).toBe(false);
    lockDir(dir, 'train').release();
  });

  it('refuses while a live process holds the lock, naming it', async () => {
    const dir = tmp();
    const other = await sleeper();
    const id = processIdentity(other.pid!)!;
    fakeHolder(dir, other.pid!, id.split(':')[1] ?? null);
    expect(() => lockDir(dir, 'eval')).toThrow(new RegExp(`another cliplab train \\(pid ${other.pid}, since 2020`));
    // The holder's file is untouched, and no temp file is left.
    expect(JSON.parse(readFileSync(join(dir, LOCK_FILE), 'utf8')).token).toBe('theirs');
    expect(readdirSync(dir)).toEqual([LOCK_FILE]);
  });

  it('takes over a lock whose process is gone, whose pid was reused, or that is garbage', async () => {
    const dead = await sleeper();
    const gone = new Promise((r) => dead.once('exit', r));
    dead.kill('SIGKILL');
    await gone;
    const live = await sleeper();
    for (const write of [
      (d: string) => fakeHolder(d, dead.pid!, '1'),
      (d: string) => fakeHolder(d, live.pid!, '1'), // same pid number, another start time: a reused pid
      (d: string) => writeFileSync(join(d, LOCK_FILE), '{"pid": '),
    ]) {
      const dir = tmp();
      write(dir);
      const lock = lockDir(dir, 'ingest');
      const h = JSON.parse(readFileSync(join(dir, LOCK_FILE), 'utf8'));
      expect(h).toMatchObject({ pid: process.pid, command: 'ingest' });
      lock.release();
      expect(readdirSync(dir)).toEqual([]);
    }
  });

  it('treats a holder on another host as live (it cannot be checked from here)', () => {
    const dir = tmp();
    fakeHolder(dir, 1, null, 'some-other-host');
    expect(() => lockDir(dir, 'train')).toThrow(/pid 1 on some-other-host; if nothing runs there, remove/);
  });

  it('release leaves alone a lock another process took meanwhile', () => {
    const dir = tmp();
    const lock = lockDir(dir, 'train');
    fakeHolder(dir, 1, null, 'elsewhere');
    lock.release();
    expect(JSON.parse(readFileSync(join(dir, LOCK_FILE), 'utf8')).token).toBe('theirs');
  });

  it('a directory the lock created is removed on release when nothing was written to it', () => {
    const parent = tmp();
    lockDir(join(parent, 'a'), 'train').release();
    expect(existsSync(join(parent, 'a'))).toBe(false);
    const b = lockDir(join(parent, 'b'), 'train');
    writeFileSync(join(parent, 'b', 'x'), '');
    b.release();
    expect(readdirSync(join(parent, 'b'))).toEqual(['x']);
  });

  it('withDirLock releases when the work throws', async () => {
    const dir = tmp();
    await expect(withDirLock(dir, 'export', async () => {
      throw new Error('boom');
    })).rejects.toThrow('boom');
    expect(existsSync(join(dir, LOCK_FILE))).toBe(false);
  });

  it('among processes racing for a directory with a stale lock, exactly one wins', async () => {
    const dir = tmp();
    fakeHolder(dir, 999_999_999, '1');
    const mod = fileURLToPath(new URL('./dir-lock.ts', import.meta.url));
    const script = `const { lockDir } = await import(${JSON.stringify(mod)});
      try { lockDir(${JSON.stringify(dir)}, 'race'); process.stdout.write('won\\n'); setInterval(() => {}, 1000); }
      catch (e) { process.stdout.write('lost ' + e.message + '\\n'); process.exit(3); }`;
    const n = 4;
    const outcomes = await Promise.all(
      Array.from({ length: n }, () => {
        const c = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
        children.push(c);
        return new Promise<string>((resolve) => {
          let out = '';
          c.stdout!.on('data', (d: Buffer) => {
            out += d.toString();
            if (out.includes('\n')) resolve(out.trim());
          });
          c.once('exit', () => resolve(out.trim() || 'exited'));
        });
      }),
    );
    expect(outcomes.filter((o) => o === 'won')).toHaveLength(1);
    for (const o of outcomes.filter((x) => x !== 'won')) expect(o).toMatch(/^lost .*another cliplab race \(pid \d+/);
  });
});
