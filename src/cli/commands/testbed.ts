// `cliplab testbed build --out DIR …`: materializes the built-in icon and emoji testbed (training shards + eval ImageFolders).
import type { Command } from 'commander';
import { buildTestbed, TESTBED_OPTIONS } from '../../data/testbed/index.js';
import { info } from '../../util/log.js';
import { addOptions, optionsFromFlags } from '../options.js';

export function register(program: Command): void {
  const testbed = program.command('testbed').description('the built-in icon and emoji testbed (see docs/testbed.md)');
  const build = testbed
    .command('build')
    .description('render the icon and emoji sets into training sources (WebDataset shards) and eval ImageFolders under --out');
  addOptions(build, TESTBED_OPTIONS)
    .option('--json', 'print the manifest summary as JSON')
    .action(async (flags: Record<string, unknown> & { json?: boolean }) => {
      const t0 = Date.now();
      const o = { ...optionsFromFlags(TESTBED_OPTIONS, flags), out: String(flags.out) };
      const m = await buildTestbed(o);
      const seconds = (Date.now() - t0) / 1000;
      const summary = {
        out: o.out,
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
