// Writes the theory experiment: theory.json (config, curves, claims, Monte Carlo checks) and its plots.
import { join } from 'node:path';
import { writeFileAtomic, writeJsonAtomic } from '../../util/fs.js';
import { renderSvg, svgToPng } from '../plots/render.js';
import type { TheoryResult } from './experiments.js';
import { theoryFigures } from './theory-plots.js';

export async function writeTheory(dir: string, r: TheoryResult, opts: { png?: boolean } = {}): Promise<string[]> {
  const written = [join(dir, 'theory.json')];
  await writeJsonAtomic(written[0]!, r);
  for (const fig of theoryFigures(r)) {
    const svg = await renderSvg(fig.spec);
    const p = join(dir, `${fig.name}.svg`);
    await writeFileAtomic(p, svg);
    written.push(p);
    if (opts.png !== false) {
      await writeFileAtomic(join(dir, `${fig.name}.png`), await svgToPng(svg));
      written.push(join(dir, `${fig.name}.png`));
    }
  }
  return written;
}
