// Paths to the data files the package ships in `assets/` (vocab, model configs, class names, templates), and
// the package's version.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';

// This file sits at src/util/assets.ts or dist/util/assets.js: the package root is two levels up.
const root = fileURLToPath(new URL('../../', import.meta.url));

export function packageRoot(): string {
  return root;
}

export function assetPath(...parts: string[]): string {
  return join(root, 'assets', ...parts);
}

let version: string | undefined;

/**
 * The `version` of the package.json cliplab runs from: the one place it is read (`--version`, result
 * provenance, reports, testbed manifests). Read once.
 */
export function packageVersion(): string {
  version ??= (JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version: string }).version;
  return version;
}
