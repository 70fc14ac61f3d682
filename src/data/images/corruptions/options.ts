// The options of the two corruption writers, declared once: `corruptFolder` (an ImageFolder into the imagenet-c
// layout, src/eval) and `addCorruptionShift` (a testbed's corrupted reference, src/data/testbed) share the
// corruption choice and seed; `cliplab corrupt`'s flags and both writers' option types derive from this table.
// It lives here, below both writers' layers, so that each can import it.
import { z } from 'zod';
import { InputError } from '../../../util/errors.js';
import { type OptionsOf, type ValueKind, choice, count, int, option, text } from '../../../util/options.js';

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

/** Comma-separated names, blanks around each dropped; unknown names are refused by the writers, naming them. */
const names: ValueKind<string[]> = { schema: z.array(z.string()), want: 'comma-separated names', fromText: (t) => t.split(',').map((s) => s.trim()).filter(Boolean) };

const severities: ValueKind<number[]> = {
  schema: z.array(z.number().int().min(1).max(5)).min(1),
  want: 'severities in 1…5 (e.g. 1-5 or 1,3,5)',
  fromText: (t) => parseSeverities(t),
};

export const CORRUPT_OPTIONS = {
  input: option(text, { flag: '--in <dir>', help: 'ImageFolder (ROOT/<class>/<images>)' }),
  out: option(text, { flag: '--out <dir>', help: 'output directory (the imagenet-c layout)' }),
  testbed: option(text, { flag: '--testbed <dir>', help: "instead: add the reference's corruption shift (<reference>-corrupted) to a built testbed" }),
  severity: option(count, { flag: '--severity <n>', help: 'with --testbed: the severity of every image', defaultText: '3' }),
  corruptions: option(names, { flag: '--corruptions <a,b>', help: 'corruptions (default: the 15 of the benchmark)' }),
  severities: option(severities, { flag: '--severities <list>', help: 'severities, e.g. 1-5 (default) or 1,3,5' }),
  seed: option(int(0), { flag: '--seed <s>', help: 'seed of every random corruption', defaultText: '0' }),
  size: option(int(0), { flag: '--size <px>', help: 'centre-crop side after resizing the short side to size·256/224 (default 224; 0 keeps the image size)' }),
  format: option(choice(['jpeg', 'png'] as const), { flag: '--format <f>', help: 'jpeg (quality 85, as ImageNet-C is released; default) | png' }),
  frostDir: option(text, { flag: '--frost <dir>', help: 'frost texture images to crop from (default: a procedural texture)' }),
};

export type CorruptFlags = OptionsOf<typeof CORRUPT_OPTIONS>;
