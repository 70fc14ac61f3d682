// `cliplab tokenize` end to end: spawns the built CLI (`npm test` builds dist/ first) on golden cases.
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { golden } from '../../../test/support/golden.js';

const repo = fileURLToPath(new URL('../../../', import.meta.url));
const cases = JSON.parse(
  readFileSync(golden('tokenizer', 'cases.json'), 'utf8'),
) as Array<{ text: string; ids: number[] }>;

function cliplab(...args: string[]) {
  return spawnSync(process.execPath, ['bin/cliplab.js', ...args], { cwd: repo, encoding: 'utf8' });
}

describe('cliplab tokenize', () => {
  it('prints one JSON array of 77 ids per text, matching OpenCLIP on every golden case', () => {
    // argv cannot carry NUL bytes; that one case is covered by the library test.
    const texts = cases.filter((c) => !c.text.includes('\0'));
    expect(texts.length).toBeGreaterThanOrEqual(299);
    const r = cliplab('tokenize', '--', ...texts.map((c) => c.text));
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const lines = r.stdout.trimEnd().split('\n');
    expect(lines.length).toBe(texts.length);
    lines.forEach((line, i) => expect(JSON.parse(line), texts[i]!.text).toEqual(texts[i]!.ids));
  });
  it('honours --context-length with truncation to EOT', () => {
    const r = cliplab('tokenize', '--context-length', '5', 'a photo of a cat');
    expect(r.status).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual([49406, 320, 1125, 539, 49407]);
  });
  it('rejects a bad --context-length with a one-line error and non-zero exit', () => {
    for (const bad of ['abc', '1', '-3', '7.5', '99999999999']) {
      const r = cliplab('tokenize', '--context-length', bad, 'x');
      expect(r.status, bad).not.toBe(0);
      expect(r.stderr.trim().split('\n').length, r.stderr).toBe(1);
      expect(r.stderr).toMatch(/context-length/);
    }
  });
  it('--no-pad stops each row at its end token', () => {
    const r = cliplab('tokenize', '--no-pad', 'a photo of a cat', '');
    expect(r.status).toBe(0);
    expect(r.stdout.trimEnd().split('\n').map((l) => JSON.parse(l))).toEqual([[49406, 320, 1125, 539, 320, 2368, 49407], [49406, 49407]]);
  });
  it('has --help', () => {
    const r = cliplab('tokenize', '--help');
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/--context-length/);
  });
});
