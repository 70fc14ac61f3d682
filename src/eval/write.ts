// Writing result records: one `.json` file, or one file per (model, dataset) in a directory, atomically.
import { basename, dirname, join } from 'node:path';
import { removeStaleTemps, writeJsonAtomic } from '../util/fs.js';
import type { Result } from './result.js';

/** A file-name-safe form of an id (keeps letters, digits, `.`, `-`, `_`, `@`; the rest become `_`). */
export function safeName(s: string): string {
  return s.replace(/[^A-Za-z0-9._@-]+/g, '_').replace(/^\.+/, '_').slice(0, 120);
}

export function resultFileName(r: Result): string {
  return `${safeName(r.model)}__${safeName(r.dataset)}.json`;
}

/** `out` ending in `.json` takes exactly one result; otherwise it is a directory (created as needed). */
export async function writeResults(out: string, results: Result[]): Promise<string[]> {
  if (/\.json$/i.test(out)) {
    if (results.length !== 1) throw new Error(`writeResults: ${results.length} results for the single file ${out}`);
    removeStaleTemps(dirname(out), basename(out)); // a killed eval's temp file for this result
    await writeJsonAtomic(out, results[0]);
    return [out];
  }
  const files: string[] = [];
  for (const r of results) {
    const f = join(out, resultFileName(r));
    await writeJsonAtomic(f, r);
    files.push(f);
  }
  return files;
}
