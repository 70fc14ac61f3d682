// Tests for the package's own files: the version is read from package.json in one place.
import { describe, it, expect } from 'vitest';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { packageRoot, packageVersion } from './assets.js';

const src = fileURLToPath(new URL('..', import.meta.url));

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? sources(join(dir, e.name)) : e.name.endsWith('.ts') && !e.name.endsWith('.test.ts') ? [join(dir, e.name)] : [],
  );
}

describe('package version', () => {
  it("is package.json's, and only util/assets.ts reads cliplab's package.json (dependencies' own files aside)", () => {
    expect(packageVersion()).toBe((JSON.parse(readFileSync(join(packageRoot(), 'package.json'), 'utf8')) as { version: string }).version);
    // The package's own file is named bare ('package.json' joined to the root) or after the root; a
    // dependency's is 'name/package.json'.
    const own = /['`](\$\{(packageRoot\(\)|root)\}\/?)?package\.json['`]/;
    const readers = sources(src).filter((f) => own.test(readFileSync(f, 'utf8'))).map((f) => f.slice(src.length));
    expect(readers).toEqual(['util/assets.ts']);
  });
});
