// `cliplab testbed build --out DIR …`: materializes the built-in icon and emoji testbed (training shards + eval ImageFolders).
import type { Command } from 'commander';
import { buildTestbed, TESTBED_DEFAULTS } from '../../data/testbed/index.js';
import { InputError } from '../../util/errors.js';
import { info } from '../../util/log.js';
import { intFlag } from '../args.js';

function optionalInt(flag: string, value: string | undefined): number | undefined {
  return value === undefined ? undefined : intFlag(flag, value, 0, 0);
}

function fractionFlag(flag: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const x = Number(value);
  if (value.trim() === '' || !Number.isFinite(x) || x < 0 || x >= 1) throw new InputError(flag, `expected a fraction in [0, 1), got '${value}'`);
  return x;
}

interface BuildFlags {
  out: string;
  imageSize?: string;
  misaligned?: string;
  seed?: string;
  concepts?: string;
  views?: string;
  evalViews?: string;
  evalViewsFull?: string;
  corruptionSeverity?: string;
  json?: boolean;
}

export function register(program: Command): void {
  const testbed = program.command('testbed').description('the built-in icon and emoji testbed (see docs/testbed.md)');
  testbed
    .command('build')
    .description('render the icon and emoji sets into training sources (WebDataset shards) and eval ImageFolders under --out')
    .requiredOption('--out <dir>', 'output directory')
    .option('--image-size <n>', `image side in pixels (default ${TESTBED_DEFAULTS.imageSize})`)
    .option('--misaligned <f>', `fraction of each source's pairs with another concept's caption (default ${TESTBED_DEFAULTS.misaligned})`)
    .option('--seed <s>', `random seed (default ${TESTBED_DEFAULTS.seed})`)
    .option('--concepts <n>', 'quick build: only the first N shared concepts in class-priority order (default: all)')
    .option('--views <n>', `training samples per artwork (one set's icon of a concept) in each source (default ${TESTBED_DEFAULTS.views})`)
    .option('--eval-views <n>', `images per class in the class-subset eval sets (default ${TESTBED_DEFAULTS.evalViews})`)
    .option('--eval-views-full <n>', `images per class in the -full eval sets (default ${TESTBED_DEFAULTS.evalViewsFull})`)
    .option('--corruption-severity <n>', 'also write <reference>-corrupted, a shift of ImageNet-C corruptions of the reference at this severity, 1–5 (default none)')
    .option('--json', 'print the manifest summary as JSON')
    .action(async (flags: BuildFlags) => {
      const t0 = Date.now();
      const m = await buildTestbed({
        out: flags.out,
        imageSize: optionalInt('--image-size', flags.imageSize),
        misaligned: fractionFlag('--misaligned', flags.misaligned),
        seed: optionalInt('--seed', flags.seed),
        concepts: optionalInt('--concepts', flags.concepts),
        views: optionalInt('--views', flags.views),
        evalViews: optionalInt('--eval-views', flags.evalViews),
        evalViewsFull: optionalInt('--eval-views-full', flags.evalViewsFull),
        corruptionSeverity: optionalInt('--corruption-severity', flags.corruptionSeverity),
      });
      const seconds = (Date.now() - t0) / 1000;
      const summary = {
        out: flags.out,
        seconds,
        concepts: m.concepts.length,
        classes: m.classes.length,
        sources: Object.fromEntries(m.sources.map((s) => [s.name, { samples: s.samples, concepts: s.concepts, sets: s.sets.length, misaligned: s.misaligned, decontaminated: s.decontaminated?.length ?? 0 }])),
        eval: Object.fromEntries(m.eval.map((e) => [e.name, { classes: e.classes, images: e.images }])),
      };
      if (flags.json) {
        process.stdout.write(JSON.stringify(summary) + '\n');
        return;
      }
      info(`testbed: ${m.concepts.length} shared concepts, ${m.classes.length} eval classes, ${seconds.toFixed(1)} s`);
      for (const s of m.sources) process.stdout.write(`source ${s.name}: ${s.samples} samples, ${s.concepts} concepts, ${s.misaligned} misaligned, ${s.decontaminated?.length ?? 0} left out as copies of evaluation images (${s.convention})\n`);
      for (const e of m.eval) process.stdout.write(`eval ${e.name}: ${e.images} images, ${e.classes} classes\n`);
    });
}
