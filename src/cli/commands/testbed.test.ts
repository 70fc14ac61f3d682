// `cliplab testbed build` end to end: spawns the built CLI (`npm test` builds dist/ first) on a tiny build.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const repo = fileURLToPath(new URL('../../../', import.meta.url));

function cliplab(...args: string[]) {
  return spawnSync(process.execPath, ['bin/cliplab.js', ...args], { cwd: repo, encoding: 'utf8', env: { ...process.env, CLIPLAB_QUIET: '1' } });
}

describe('cliplab testbed build', () => {
  it('builds a tiny testbed and prints a JSON summary', () => {
    const out = mkdtempSync(join(tmpdir(), 'cliplab-testbed-cli-'));
    const r = cliplab('testbed', 'build', '--out', out, '--concepts', '3', '--views', '2', '--eval-views', '1', '--eval-views-full', '1', '--image-size', '16', '--json');
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const summary = JSON.parse(r.stdout) as { concepts: number; sources: Record<string, { samples: number }>; eval: Record<string, { images: number }> };
    expect(summary.concepts).toBe(3);
    expect(summary.sources['emoji-flat']!.samples).toBeGreaterThanOrEqual(3 * 2 * 3);
    expect(summary.eval['noto-v1-distorted']!.images).toBe(3);
    expect(existsSync(join(out, 'testbed.json'))).toBe(true);
  }, 600_000);
  it('rejects bad flags with a one-line error and non-zero exit', () => {
    const out = mkdtempSync(join(tmpdir(), 'cliplab-testbed-cli-'));
    for (const [flag, bad] of [['--misaligned', '1.5'], ['--image-size', 'big'], ['--concepts', '0'], ['--seed', '-1']] as const) {
      const r = cliplab('testbed', 'build', '--out', out, flag, bad);
      expect(r.status, `${flag} ${bad}`).not.toBe(0);
      expect(r.stderr.trim().split('\n').length, r.stderr).toBe(1);
    }
  }, 600_000);
});
