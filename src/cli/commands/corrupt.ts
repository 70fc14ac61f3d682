// `cliplab corrupt`: ImageNet-C corruptions of an ImageFolder, OUT/<corruption>/<severity>/<class>/<image>.
import type { Command } from 'commander';
import { CORRUPT_OPTIONS } from '../../data/images/corruptions/index.js';
import { addCorruptionShift } from '../../data/testbed/corruption-shift.js';
import { corruptFolder } from '../../eval/corrupt-folder.js';
import { readImageFolder } from '../../eval/image-folder.js';
import { InputError } from '../../util/errors.js';
import { info, warn } from '../../util/log.js';
import { progress } from '../../util/progress.js';
import { addOptions, optionsFromFlags } from '../options.js';

export function register(program: Command): void {
  const cmd = program
    .command('corrupt')
    .description('ImageNet-C corruptions (Hendrycks & Dietterich) of an ImageFolder: OUT/<corruption>/<severity>/<class>/<image>');
  addOptions(cmd, CORRUPT_OPTIONS).action(async (flags: Record<string, unknown>) => {
    const { input, out, testbed, ...f } = optionsFromFlags(CORRUPT_OPTIONS, flags);
    if (testbed !== undefined) {
      if (input !== undefined || out !== undefined) throw new InputError('--testbed', 'give either --testbed or --in/--out');
      const sets = await addCorruptionShift(testbed, { severity: f.severity, seed: f.seed, corruptions: f.corruptions });
      info(`added ${sets.map((s) => `${s.name} (${s.images} images)`).join(', ')} to ${testbed}`);
      return;
    }
    if (input === undefined || out === undefined) throw new InputError('--in', 'give --in IMAGEFOLDER and --out DIR (or --testbed DIR)');
    const n = readImageFolder(input).samples.length;
    const bar = progress('corrupt', n, 'images');
    try {
      const r = await corruptFolder({
        ...f,
        input,
        out,
        onImage: () => bar.tick(1),
        onSkip: (file, why) => warn(`${file}: skipped (${why})`),
      });
      bar.stop();
      if (r.skipped.length) warn(`${r.skipped.length} of ${n} images unreadable, skipped`);
      info(`wrote ${r.written} images in ${r.sets.length} sets under ${out}`);
    } finally {
      bar.stop();
    }
  });
}
