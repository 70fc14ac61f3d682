// Paths to the data files the package ships in `assets/` (vocab, model configs, class names, templates).
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
