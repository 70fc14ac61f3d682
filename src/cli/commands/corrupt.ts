// `cliplab corrupt`: ImageNet-C corruptions of an ImageFolder, OUT/<corruption>/<severity>/<class>/<image>.
import type { Command } from 'commander';
import { addCorruptionShift } from '../../data/testbed/corruption-shift.js';
import { corruptFolder } from '../../eval/corrupt-folder.js';
import { readImageFolder } from '../../eval/image-folder.js';
import { InputError } from '../../util/errors.js';
import { info, warn } from '../../util/log.js';
import { progress } from '../../util/progress.js';
import { choiceFlag, intFlag } from '../args.js';

interface Flags {
  in?: string;
  out?: string;
  testbed?: string;
  severity?: string;
  corruptions?: string;
  severities?: string;
  seed?: string;
  size?: string;
  format?: string;
  frost?: string;
}

/** `1-5`, `3`, `1,3,5` → severities in 1…5. */
export function parseSeverities(v: string): number[] {
  const out = new Set<number>();
  for (const part of v.split(',').map((s) => s.trim()).filter(Boolean)) {
    const m = /^([1-5])(?:-([1-5]))?$/.exec(part);
    if (!m) throw new InputError('--severities', `'${part}': expected severities in 1…5 (e.g. 1-5 or 1,3,5)`);
    const a = Number(m[1]);
    const b = m[2] !== undefined ? Number(m[2]) : a;
    if (b < a) throw new InputError('--severities', `'${part}': empty range`);
    for (let s = a; s <= b; s++) out.add(s);
  }
  if (out.size === 0) throw new InputError('--severities', 'no severities given');
  return [...out].sort();
}

export function register(program: Command): void {
  program
    .command('corrupt')
    .description('ImageNet-C corruptions (Hendrycks & Dietterich) of an ImageFolder: OUT/<corruption>/<severity>/<class>/<image>')
    .option('--in <dir>', 'ImageFolder (ROOT/<class>/<images>)')
    .option('--out <dir>', 'output directory (the imagenet-c layout)')
    .option('--testbed <dir>', 'instead: add the reference\'s corruption shift (<reference>-corrupted) to a built testbed')
    .option('--severity <n>', 'with --testbed: the severity of every image (default 3)')
    .option('--corruptions <a,b>', 'corruptions (default: the 15 of the benchmark)')
    .option('--severities <list>', 'severities, e.g. 1-5 (default) or 1,3,5')
    .option('--seed <s>', 'seed of every random corruption (default 0)')
    .option('--size <px>', 'centre-crop side after resizing the short side to size·256/224 (default 224; 0 keeps the image size)')
    .option('--format <f>', 'jpeg (quality 85, as ImageNet-C is released; default) | png')
    .option('--frost <dir>', 'frost texture images to crop from (default: a procedural texture)')
    .action(async (f: Flags) => {
      const corruptions = f.corruptions?.split(',').map((s) => s.trim()).filter(Boolean);
      if (f.testbed !== undefined) {
        if (f.in !== undefined || f.out !== undefined) throw new InputError('--testbed', 'give either --testbed or --in/--out');
        const sets = await addCorruptionShift(f.testbed, { severity: intFlag('--severity', f.severity, 3), seed: intFlag('--seed', f.seed, 0, 0), corruptions });
        info(`added ${sets.map((s) => `${s.name} (${s.images} images)`).join(', ')} to ${f.testbed}`);
        return;
      }
      if (f.in === undefined || f.out === undefined) throw new InputError('--in', 'give --in IMAGEFOLDER and --out DIR (or --testbed DIR)');
      const n = readImageFolder(f.in).samples.length;
      const bar = progress('corrupt', n, 'images');
      try {
        const r = await corruptFolder({
          input: f.in,
          out: f.out,
          corruptions,
          severities: f.severities !== undefined ? parseSeverities(f.severities) : undefined,
          seed: intFlag('--seed', f.seed, 0, 0),
          size: intFlag('--size', f.size, 224, 0),
          format: choiceFlag('--format', f.format, ['jpeg', 'png'] as const, 'jpeg'),
          frostDir: f.frost,
          onImage: () => bar.tick(1),
          onSkip: (file, why) => warn(`${file}: skipped (${why})`),
        });
        bar.stop();
        if (r.skipped.length) warn(`${r.skipped.length} of ${n} images unreadable, skipped`);
        info(`wrote ${r.written} images in ${r.sets.length} sets under ${f.out}`);
      } finally {
        bar.stop();
      }
    });
}
