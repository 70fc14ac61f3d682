// `DIR/testbed.json`: what a testbed build holds (args, concepts, classes, sources, eval sets, checksums),
// its schema, and the reader that downstream code (training, eval, demo) uses to find everything.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { InputError } from '../../util/errors.js';

export const MANIFEST_FILE = 'testbed.json';

const conceptSchema = z.object({
  hexcode: z.string(),
  /** Directory name of the class in the eval ImageFolders: the lowercase hexcode. */
  dir: z.string(),
  emoji: z.string(),
  name: z.string(),
  label: z.string(),
  group: z.string(),
  subgroup: z.string(),
});

const shardSchema = z.object({ file: z.string(), samples: z.number().int(), sha256: z.string() });

const sourceSchema = z.object({
  name: z.string(),
  style: z.string(),
  convention: z.string(),
  /** Relative to the testbed directory. */
  dir: z.string(),
  /** The source's icon sets (its "photographers") and how many concepts of the build each draws. */
  sets: z.array(z.object({ set: z.string(), concepts: z.number().int() })),
  concepts: z.number().int(),
  /** Samples written (near copies of evaluation images left out). */
  samples: z.number().int(),
  misaligned: z.number().int(),
  /** Samples left out as near copies of an evaluation image (`eval/<set>/<class>/<n>.png`); absent in older builds. */
  decontaminated: z.array(z.object({ key: z.string(), eval: z.string(), distance: z.number().int() })).optional(),
  shards: z.array(shardSchema),
});

const evalSetSchema = z.object({
  name: z.string(),
  /** The icon set the images come from (`noto-v1` for the distorted set). */
  iconSet: z.string(),
  role: z.enum(['reference', 'shift']),
  kind: z.enum(['natural', 'synthetic']),
  /** True for the `-full` variants over every shared concept. */
  full: z.boolean(),
  dir: z.string(),
  classes: z.number().int(),
  viewsPerClass: z.number().int(),
  images: z.number().int(),
  /** sha256 over the lines `<relative path>\t<sha256 of file>\n`, paths sorted. */
  sha256: z.string(),
});

export const testbedManifestSchema = z.object({
  version: z.number().int(),
  generator: z.string(),
  args: z.object({
    imageSize: z.number().int(),
    misaligned: z.number(),
    seed: z.number().int(),
    concepts: z.number().int().nullable(),
    views: z.number().int(),
    evalViews: z.number().int(),
    evalViewsFull: z.number().int(),
    shardSize: z.number().int(),
    /** Severity of the corrupted reference shift built with the testbed (absent or null: none). */
    corruptionSeverity: z.number().int().nullable().optional(),
  }),
  packages: z.record(z.string(), z.string()),
  /** Concepts shared by every evaluation set (restricted by `--concepts`), sorted by hexcode. */
  concepts: z.array(conceptSchema),
  /** Hexcodes of the evaluation class subset, sorted (the order of the class dirs and classnames.json). */
  classes: z.array(z.string()),
  classSelection: z.object({ seed: z.number().int(), count: z.number().int(), rule: z.string() }),
  reference: z.string(),
  shifts: z.array(z.string()),
  sources: z.array(sourceSchema),
  eval: z.array(evalSetSchema),
});

export type TestbedManifest = z.infer<typeof testbedManifestSchema>;
export type TestbedConcept = z.infer<typeof conceptSchema>;
export type TestbedSource = z.infer<typeof sourceSchema>;
export type TestbedEvalSet = z.infer<typeof evalSetSchema>;

/** Reads and validates `DIR/testbed.json`; errors name the file and the key at fault. */
export function readTestbedManifest(dir: string): TestbedManifest {
  const path = join(dir, MANIFEST_FILE);
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(path, 'utf8'));
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new InputError(path, code === 'ENOENT' ? 'no testbed here (run `cliplab testbed build --out DIR`)' : `unreadable: ${(e as Error).message}`);
  }
  const parsed = testbedManifestSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new InputError(`${path}: ${issue.path.join('.') || '(root)'}`, issue.message);
  }
  return parsed.data;
}

/** Absolute paths of a training source's shards, in order; InputError naming the source if it is not in the build. */
export function sourceShardPaths(dir: string, manifest: TestbedManifest, source: string): string[] {
  const s = manifest.sources.find((x) => x.name === source);
  if (!s) throw new InputError(`source ${source}`, `not in this testbed (has ${manifest.sources.map((x) => x.name).join(', ')})`);
  return s.shards.map((sh) => join(dir, s.dir, sh.file));
}

/** Absolute path of an eval ImageFolder (`noto-v1`, `emojione-monotone-full`, …); InputError if unknown. */
export function evalSetPath(dir: string, manifest: TestbedManifest, name: string): string {
  const e = manifest.eval.find((x) => x.name === name);
  if (!e) throw new InputError(`eval set ${name}`, `not in this testbed (has ${manifest.eval.map((x) => x.name).join(', ')})`);
  return join(dir, e.dir);
}
