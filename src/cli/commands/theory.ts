// `cliplab theory --out DIR`: the Gaussian theory model of docs/theory.md — lines, dilution, filtering.
import type { Command } from 'commander';
import { DEFAULT_THEORY_CONFIG, type TheoryConfig, runTheory } from '../../analysis/theory/experiments.js';
import { writeTheory } from '../../analysis/theory/write-theory.js';
import { InputError } from '../../util/errors.js';
import { withDirLock } from '../../util/dir-lock.js';
import { info } from '../../util/log.js';

export function register(program: Command): void {
  program
    .command('theory')
    .description('the Gaussian theory model: lines per source, dilution by mixing, filtering (closed form + Monte Carlo)')
    .requiredOption('--out <dir>', 'output directory (theory.json, plots)')
    .option('--seed <s>', 'seed of the finite-sample models and Monte Carlo', '0')
    .option('--no-png', 'SVG plots only')
    .option('--json', 'print theory.json to stdout')
    .action(async (o: { out: string; seed: string; png: boolean; json?: boolean }) => {
      const seed = Number(o.seed);
      if (!Number.isInteger(seed)) throw new InputError('--seed', `not an integer: ${o.seed}`);
      const config: TheoryConfig = { ...DEFAULT_THEORY_CONFIG, seed };
      const r = runTheory(config);
      const files = await withDirLock(o.out, 'theory', () => writeTheory(o.out, r, { png: o.png }));
      if (o.json) process.stdout.write(JSON.stringify(r, null, 2) + '\n');
      else {
        const c = r.claims;
        info(`(i) lines per source: ${c.linesPerSource.holds ? 'holds' : 'FAILS'} (min R² ${c.linesPerSource.minR2.toFixed(3)})`);
        info(`(ii) mixing interpolates, below the best source: ${c.mixingInterpolates.holds ? 'holds' : 'FAILS'}`);
        info(`(iii) filtering moves toward the robust line: ${c.filteringMovesTowardRobust.holds ? 'holds' : 'FAILS'}`);
        info(`Monte Carlo checks: ${r.monteCarlo.filter((m) => m.ok).length}/${r.monteCarlo.length} within 4.5 SE`);
        process.stdout.write(files.join('\n') + '\n');
      }
    });
}
