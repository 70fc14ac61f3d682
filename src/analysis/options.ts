// The options of `cliplab analyze`, once: the CLI's flags and the library's AnalyzeOptions derive from this
// table, and analyze() checks a library caller's values against it (errors name the flag).
import { resolve } from 'node:path';
import { z } from 'zod';
import { type OptionsOf, type ValueKind, choice, int, option, text } from '../util/options.js';
import { type BaselineSpec, parseBaselineArg } from './baseline.js';
import { TRANSFORMS, type TransformName } from './transform.js';

const baselineKind: ValueKind<BaselineSpec> = {
  schema: z.union([
    z.object({ kind: z.literal('designs'), designs: z.array(z.string().min(1)).min(1) }),
    z.object({ kind: z.literal('file'), file: z.string().min(1) }),
    z.object({ kind: z.literal('default') }),
  ]),
  want: 'comma-separated designs or a file of (reference, shift) accuracy pairs or lines',
  fromText: (t) => {
    const spec = parseBaselineArg(t);
    return spec.kind === 'file' ? { kind: 'file', file: resolve(spec.file) } : spec;
  },
};

export const ANALYZE_OPTIONS = {
  reference: option(text, { flag: '--reference <name>', help: 'reference dataset (default: the flagged or the suite’s reference)' }),
  classes: option(text, { flag: '--classes <id>', help: 'class subset to analyze when results cover several (default: the baseline’s)' }),
  transform: option(choice(TRANSFORMS as readonly TransformName[]), { flag: '--transform <t>', help: 'probit or logit', defaultText: 'probit' }),
  baseline: option(baselineKind, { flag: '--baseline <designs|file>', help: 'designs (comma-separated) or a file of (reference, shift) accuracy pairs or lines' }),
  seed: option(int(0), { flag: '--seed <s>', help: 'bootstrap seed', defaultText: '0' }),
  resamples: option(int(1), { flag: '--resamples <b>', help: 'bootstrap resamples', defaultText: '1000' }),
};

export type AnalyzeOptions = OptionsOf<typeof ANALYZE_OPTIONS> & {
  /** The RESULTS arguments as given, recorded for provenance and for `serve` to re-read. */
  inputPaths?: string[];
  /** Folder of sample images per source for the report. */
  samplesDir?: string;
};
