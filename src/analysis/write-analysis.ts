// Writes an analysis to a directory: robustness.json, one CSV per table, robustness.md, and the
// figures as SVG and PNG under plots/. The files written are recorded in `.cliplab-analysis.json`, so a rerun
// removes those of the earlier analysis it does not write again (a shift no longer in the results, PNGs after
// --no-png) and nothing else: the directory may be a study's, or hold the user's own files.
import { readFileSync, rmSync } from 'node:fs';
import { isAbsolute, join, relative, resolve } from 'node:path';
import { IoError, InputError } from '../util/errors.js';
import { writeFileAtomic, writeJsonAtomic } from '../util/fs.js';
import { analysisFigures } from './plots/figures.js';
import { renderSvg, svgToPng } from './plots/render.js';
import type { Robustness } from './robustness-types.js';
import { analysisMarkdown, analysisTables, toCsv } from './tables.js';

export interface WrittenAnalysis {
  json: string;
  markdown: string;
  csv: string[];
  plots: string[];
}

export const ANALYSIS_RECORD = '.cliplab-analysis.json';

/** The files (relative to `dir`) the previous analysis there wrote; none when it left no record. */
function previousFiles(dir: string): string[] {
  const p = join(dir, ANALYSIS_RECORD);
  let text: string;
  try {
    text = readFileSync(p, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw IoError.from(e, p, 'cannot read');
  }
  let files: unknown;
  try {
    files = (JSON.parse(text) as { files?: unknown }).files;
  } catch {
    files = undefined;
  }
  if (!Array.isArray(files)) throw new InputError(p, 'not a record of the files cliplab analyze wrote here (no "files" list); remove it to write here');
  // Only paths inside the directory: the record decides what is deleted.
  const outside = files.find((f) => typeof f !== 'string' || f === '' || isAbsolute(f) || relative(dir, resolve(dir, f)).split(/[\\/]/)[0] === '..');
  if (outside !== undefined) throw new InputError(p, `lists ${JSON.stringify(outside)}, not a file inside ${dir}; remove the record to write here`);
  return files as string[];
}

export async function writeAnalysis(dir: string, r: Robustness, opts: { png?: boolean } = {}): Promise<WrittenAnalysis> {
  const previous = previousFiles(dir);
  const tables = analysisTables(r).map((t) => ({ file: `${t.name}.csv`, data: () => toCsv(t) }));
  const plots: { file: string; data: () => Promise<string | Uint8Array> }[] = [];
  for (const fig of analysisFigures(r)) {
    let svg: Promise<string> | undefined;
    const rendered = (): Promise<string> => (svg ??= renderSvg(fig.spec));
    plots.push({ file: join('plots', `${fig.name}.svg`), data: rendered });
    if (opts.png !== false) plots.push({ file: join('plots', `${fig.name}.png`), data: async () => svgToPng(await rendered()) });
  }
  const outputs = [
    { file: 'robustness.json', data: () => JSON.stringify(r, null, 2) + '\n' },
    ...tables,
    { file: 'robustness.md', data: () => analysisMarkdown(r) },
    ...plots,
  ];
  const now = new Set(outputs.map((o) => o.file));
  // Recorded before writing: a run killed half-way leaves every file it or the previous analysis wrote listed.
  const record = join(dir, ANALYSIS_RECORD);
  await writeJsonAtomic(record, { files: [...new Set([...previous, ...now])] });
  for (const o of outputs) await writeFileAtomic(join(dir, o.file), await o.data());
  for (const f of previous) {
    if (now.has(f)) continue;
    try {
      rmSync(join(dir, f), { force: true });
    } catch (e) {
      throw IoError.from(e, join(dir, f), 'cannot remove this file of the previous analysis');
    }
  }
  await writeJsonAtomic(record, { files: [...now] });
  return {
    json: join(dir, 'robustness.json'),
    markdown: join(dir, 'robustness.md'),
    csv: tables.map((t) => join(dir, t.file)),
    plots: plots.map((p) => join(dir, p.file)),
  };
}
