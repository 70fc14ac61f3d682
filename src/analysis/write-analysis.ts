// Writes an analysis to a directory: robustness.json, one CSV per table, robustness.md, and the
// figures as SVG and PNG under plots/.
import { join } from 'node:path';
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

export async function writeAnalysis(dir: string, r: Robustness, opts: { png?: boolean } = {}): Promise<WrittenAnalysis> {
  const json = join(dir, 'robustness.json');
  await writeJsonAtomic(json, r);
  const csv: string[] = [];
  for (const t of analysisTables(r)) {
    const p = join(dir, `${t.name}.csv`);
    await writeFileAtomic(p, toCsv(t));
    csv.push(p);
  }
  const markdown = join(dir, 'robustness.md');
  await writeFileAtomic(markdown, analysisMarkdown(r));
  const plots: string[] = [];
  for (const fig of analysisFigures(r)) {
    const svg = await renderSvg(fig.spec);
    const p = join(dir, 'plots', `${fig.name}.svg`);
    await writeFileAtomic(p, svg);
    plots.push(p);
    if (opts.png !== false) {
      const png = join(dir, 'plots', `${fig.name}.png`);
      await writeFileAtomic(png, await svgToPng(svg));
      plots.push(png);
    }
  }
  return { json, markdown, csv, plots };
}
