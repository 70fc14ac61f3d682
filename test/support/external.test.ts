// The skip-or-fail contract of describeWith, checked by running vitest on a tiny suite in a child process.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../../', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'cliplab-external-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function runSuite(available: boolean, ci: boolean) {
  const file = join(dir, `s-${available}-${ci}.test.ts`);
  writeFileSync(file, `import { it, expect } from 'vitest';
import { describeWith } from ${JSON.stringify(join(root, 'test/support/external.ts'))};
describeWith({ name: 'FakeTool', available: ${available}, why: 'install fake-tool' }, 'suite', () => {
  it('runs', () => { expect(1).toBe(1); });
});
`);
  const env: NodeJS.ProcessEnv = { PATH: process.env.PATH, HOME: process.env.HOME, NO_COLOR: '1', CI: ci ? 'true' : '' };
  const r = spawnSync(process.execPath, [join(root, 'node_modules/vitest/vitest.mjs'), 'run', '--root', dir, file], { env, encoding: 'utf8' });
  return { code: r.status, out: r.stdout + r.stderr };
}

describe('describeWith', () => {
  it('runs the suite when the tool is there', () => {
    const r = runSuite(true, true);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/1 passed/);
  });
  it('skips with one line naming the tool outside CI', () => {
    const r = runSuite(false, false);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/skip: suite: FakeTool not available: install fake-tool/);
    expect(r.out).toMatch(/1 skipped/);
  });
  it('fails under CI=true', () => {
    const r = runSuite(false, true);
    expect(r.code).not.toBe(0);
    expect(r.out).toMatch(/FakeTool not available/);
  });
});
