// Small command-line frictions met when coming from the Python tools: --version, an unknown flag named before a
// missing required one, and --json accepted by `bench train` as by every other printing command.
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const repo = fileURLToPath(new URL('../../', import.meta.url));
const cliplab = (args: string[]) => spawnSync(process.execPath, ['bin/cliplab.js', ...args], { cwd: repo, encoding: 'utf8' });

describe('cliplab command line', () => {
  it('prints its version with --version', () => {
    const r = cliplab(['--version']);
    expect(r.status).toBe(0);
    expect(r.stdout.trim()).toBe((JSON.parse(readFileSync(`${repo}package.json`, 'utf8')) as { version: string }).version);
  });

  it('names a mistyped flag of train rather than the missing --out; a missing --out alone is one line', () => {
    const typo = cliplab(['train', '--dat', 'x']);
    expect(typo.status).toBe(2);
    expect(typo.stderr).toMatch(/unknown option '--dat'/);
    expect(typo.stderr).not.toMatch(/--out/);
    const missing = cliplab(['train', '--data', 'x']);
    expect(missing.status).toBe(1);
    expect(missing.stderr).toBe('cliplab: --out: required\n');
  });

  it('accepts --json on bench train', () => {
    const r = cliplab(['bench', 'train', '--json', '--steps', '1', '--warmup', '0', '--batch-size', '2', '--threads', '1']);
    expect(r.stderr).not.toMatch(/unknown option/);
    expect(r.status).toBe(0);
    expect(JSON.parse(r.stdout.trim().split('\n').pop()!)).toMatchObject({ bench: 'train', batch: 2 });
  });
});
