// The options of `buildTestbed`, declared once: `cliplab testbed build`'s flags and BuildTestbedOptions derive
// from this table. The kinds only read the command line (integers >= 0, a fraction); the ranges are checked
// by buildTestbed itself, so a library caller and the CLI get the same errors.
import { type OptionsOf, int, num, option, text } from '../../util/options.js';
import { DEFAULTS } from './constants.js';

export const TESTBED_OPTIONS = {
  out: option(text, { flag: '--out <dir>', help: 'output directory', required: true }),
  imageSize: option(int(0), { flag: '--image-size <n>', help: 'image side in pixels', defaultText: String(DEFAULTS.imageSize) }),
  misaligned: option(num('a fraction in [0, 1)', (x) => x >= 0 && x < 1), {
    flag: '--misaligned <f>',
    help: "fraction of each source's pairs with another concept's caption",
    defaultText: String(DEFAULTS.misaligned),
  }),
  seed: option(int(0), { flag: '--seed <s>', help: 'random seed', defaultText: String(DEFAULTS.seed) }),
  concepts: option(int(0), { flag: '--concepts <n>', help: 'quick build: only the first N shared concepts in class-priority order (default: all)' }),
  views: option(int(0), {
    flag: '--views <n>',
    help: "training samples per artwork (one set's icon of a concept) in each source",
    defaultText: String(DEFAULTS.views),
  }),
  evalViews: option(int(0), { flag: '--eval-views <n>', help: 'images per class in the class-subset eval sets', defaultText: String(DEFAULTS.evalViews) }),
  evalViewsFull: option(int(0), { flag: '--eval-views-full <n>', help: 'images per class in the -full eval sets', defaultText: String(DEFAULTS.evalViewsFull) }),
  corruptionSeverity: option(int(0), {
    flag: '--corruption-severity <n>',
    help: 'also write <reference>-corrupted, a shift of ImageNet-C corruptions of the reference at this severity, 1–5',
    defaultText: 'none',
  }),
};

export type BuildTestbedOptions = OptionsOf<typeof TESTBED_OPTIONS> & {
  out: string;
  shardSize?: number;
  /** Images rendered at once (default 8; sharp runs them on libuv's thread pool). */
  concurrency?: number;
};
