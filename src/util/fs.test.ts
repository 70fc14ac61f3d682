// Atomic writes under I/O failure: disk full or permission denied ends in one IoError naming the path, the
// temp file is gone and the old content is intact; stale temps of dead writers are swept, live ones kept.
import fs, { existsSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { syncBuiltinESMExports } from 'node:module';
import { spawn } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { removeStaleTemps, writeFileAtomic } from './fs.js';
import { IoError } from './errors.js';

const tmp = (): string => mkdtempSync(join(tmpdir(), 'cliplab-fs-'));
const errno = (code: string, syscall = 'write'): NodeJS.ErrnoException => Object.assign(new Error(`${code}: failed, ${syscall}`), { code, syscall, errno: -28 });

afterEach(() => {
  vi.restoreAllMocks();
  syncBuiltinESMExports();
});

describe('writeFileAtomic under I/O failure', () => {
  it('disk full mid-write: one line naming the target, no temp file, old content kept', async () => {
    const dir = tmp();
    const target = join(dir, 'stats.json');
    writeFileSync(target, 'old');
    const realOpen = fs.promises.open;
    vi.spyOn(fs.promises, 'open').mockImplementation(async (...args: Parameters<typeof realOpen>) => {
      const fh = await realOpen(...args);
      fh.writeFile = async () => {
        throw errno('ENOSPC');
      };
      return fh;
    });
    const err = await writeFileAtomic(target, 'new').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(IoError);
    expect((err as Error).message).toBe(`${target}: cannot write: no space left on device (ENOSPC)`);
    expect(readdirSync(dir)).toEqual(['stats.json']);
    expect(readFileSync(target, 'utf8')).toBe('old');
    vi.restoreAllMocks();
    await writeFileAtomic(target, 'new'); // the cause fixed, the same call finishes
    expect(readFileSync(target, 'utf8')).toBe('new');
  });
});

describe('removeStaleTemps', () => {
  it("removes dead writers' temps, keeps live writers' and other files", async () => {
    const dir = tmp();
    const dead = spawn(process.execPath, ['-e', '0']);
    await new Promise((r) => dead.once('exit', r));
    const live = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)']);
    await new Promise((r) => live.once('spawn', r));
    try {
      const names = [`.r.json.tmp-${dead.pid}-abc123`, `.r.json.tmp-${live.pid}-abc123`, `.q.json.tmp-${dead.pid}-zz`, `.r.json.tmp-${process.pid}-mine`, 'r.json', '.hidden'];
      for (const n of names) writeFileSync(join(dir, n), '');
      expect(removeStaleTemps(dir, 'r.json')).toEqual([`.r.json.tmp-${dead.pid}-abc123`]);
      expect(removeStaleTemps(dir)).toEqual([`.q.json.tmp-${dead.pid}-zz`]);
      expect(readdirSync(dir).sort()).toEqual([`.hidden`, `.r.json.tmp-${live.pid}-abc123`, `.r.json.tmp-${process.pid}-mine`, 'r.json'].sort());
      expect(removeStaleTemps(join(dir, 'missing'))).toEqual([]);
      expect(existsSync(join(dir, 'r.json'))).toBe(true);
    } finally {
      live.kill('SIGKILL');
    }
  });
});
