// What a `cliplab corrupt` output was made from: the sha256 over its input images (relative path and content),
// kept in OUT/.cliplab-input.json. A rerun from other images into the same --out is refused: it would leave
// corruptions of images the new input no longer has beside the new ones.
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { digestFiles } from '../util/content-hash.js';
import { InputError } from '../util/errors.js';
import { writeJsonAtomic } from '../util/fs.js';

export const INPUT_RECORD = '.cliplab-input.json';

/** Checks `out` against the input images (`files` under `root`) and records them; throws InputError on a mismatch. */
export async function checkCorruptInput(out: string, root: string, files: readonly string[]): Promise<void> {
  const digests = await digestFiles(files.map((f) => resolve(f)));
  const lines = digests.map((d, i) => `${relative(root, files[i]!)}\t${d.sha256}\n`).sort();
  const sha256 = createHash('sha256').update(lines.join('')).digest('hex');
  let prev: { sha256?: unknown } | null = null;
  try {
    prev = JSON.parse(readFileSync(join(out, INPUT_RECORD), 'utf8')) as { sha256?: unknown };
  } catch {
    // none yet
  }
  if (prev && prev.sha256 !== sha256)
    throw new InputError(out, `holds corruptions of other input images (sha256 ${String(prev.sha256).slice(0, 12)}…, this input ${sha256.slice(0, 12)}…): use another --out, or remove it first`);
  if (!prev && readdirSync(out).some((n) => !n.startsWith('.')))
    throw new InputError(out, 'is not empty and does not record which images it was made from: use another --out, or remove it first');
  await writeJsonAtomic(join(out, INPUT_RECORD), { sha256, images: files.length });
}
