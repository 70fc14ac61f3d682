// Dataset design specs (YAML or JSON): the zod schema, loading, and errors that name the file and key path.
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { InputError } from '../../util/errors.js';

const SCRIPTS = ['latin', 'cyrillic', 'greek', 'arabic', 'hebrew', 'han', 'hiragana', 'katakana', 'hangul', 'devanagari', 'thai'] as const;
export type ScriptName = (typeof SCRIPTS)[number];

const name = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_-]*$/, 'use letters, digits, _ and - (starting with a letter or digit)');

const captionFilter = z
  .object({
    /** Caption length bounds in characters (code points, after trimming). */
    minLength: z.number().int().nonnegative().optional(),
    maxLength: z.number().int().positive().optional(),
    /** Word count bounds (runs of letters/digits). */
    minWords: z.number().int().nonnegative().optional(),
    maxWords: z.number().int().positive().optional(),
    /** Keep captions whose letters are mostly in these Unicode scripts. */
    scripts: z.array(z.enum(SCRIPTS)).min(1).optional(),
    /** Fraction of letters that must be in `scripts`; default 0.8. */
    minScriptFraction: z.number().min(0).max(1).optional(),
    /** Caption languages to keep (CLD3's codes: en, de, zh, …), as LAION and DataComp's LAION-2B filter did. */
    languages: z.array(z.string().regex(/^[a-z]{2,3}(-[A-Za-z]+)?$/, 'a CLD3 language code such as en, de or zh')).min(1).optional(),
    /** Also require CLD3's probability for that language ≥ this; default 0 (its best guess is enough). */
    minLanguageProbability: z.number().min(0).max(1).optional(),
    /** Class-name mentions: `must` keeps captions naming at least one class, `mustNot` drops them. */
    mentions: z
      .object({
        classes: z.union([z.array(z.string().min(1)).min(1), z.string().min(1)]),
        mode: z.enum(['must', 'mustNot']),
        /** `phrase` (default): a class name as whole words anywhere; `datacomp`: a whitespace word of the
         * caption, lowercased and singularized, is a class name or a class name's last word (DataComp's
         * text-based baseline). */
        match: z.enum(['phrase', 'datacomp']).optional(),
      })
      .strict()
      .optional(),
  })
  .strict();

/**
 * Published CLIP-score cuts: LAION-400M kept ViT-B/32 cosine similarity ≥ 0.3, LAION-2B(-en) ≥ 0.28; the
 * DataComp baselines keep ViT-B/32 ≥ 0.25 or the top 30% by ViT-L/14 score.
 */
export const CLIP_SCORE_PRESETS = {
  laion400m: { threshold: 0.3 },
  laion2b: { threshold: 0.28 },
  'datacomp-b32': { threshold: 0.25 },
  'datacomp-l14-top30': { topFraction: 0.3 },
} as const;

const clipScoreSchema = z
  .object({
    /** Any checkpoint cliplab loads (resolved relative to the spec file). */
    checkpoint: z.string().min(1),
    /** Keep pairs with cosine similarity ≥ threshold… */
    threshold: z.number().min(-1).max(1).optional(),
    /** …or the top fraction of each source's candidates by score… */
    topFraction: z.number().gt(0).max(1).optional(),
    /** …or a published cut by name. */
    preset: z.enum(Object.keys(CLIP_SCORE_PRESETS) as [keyof typeof CLIP_SCORE_PRESETS, ...(keyof typeof CLIP_SCORE_PRESETS)[]]).optional(),
    batchSize: z.number().int().positive().optional(),
    /** Directory of per-shard score files (`dataset score` writes them; the build reuses them). */
    scores: z.string().min(1).optional(),
  })
  .strict()
  .refine((f) => [f.threshold, f.topFraction, f.preset].filter((x) => x !== undefined).length === 1, { message: 'give exactly one of threshold, topFraction or preset' });

/** The cut and batch size a clipScore filter stands for (a preset resolved to its values). */
export function clipScoreFilter(f: ClipScoreFilterSpec): { threshold?: number; topFraction?: number; batchSize: number } {
  const cut: { threshold?: number; topFraction?: number } = f.preset ? CLIP_SCORE_PRESETS[f.preset] : f.threshold !== undefined ? { threshold: f.threshold } : { topFraction: f.topFraction! };
  return { ...cut, batchSize: f.batchSize ?? 64 };
}

const dedupFilter = z
  .object({
    /** Exact copies (sha256 of the bytes); default true. */
    exact: z.boolean().optional(),
    /** Near copies within the dataset (perceptual hash of the whole image). */
    near: z.boolean().optional(),
    /** Evaluation sets (ImageFolders or shard directories, relative to the spec file) no sample may copy. */
    against: z.array(z.string().min(1)).optional(),
    /** Hamming radius in bits of the 64-bit perceptual hash; default 10. */
    maxDistance: z.number().int().min(0).max(64).optional(),
    /** Near copies by CLIP image-embedding similarity, within the dataset and against `against`. */
    clip: z
      .object({
        /** Any checkpoint cliplab loads (resolved relative to the spec file), or hf-hub:org/name. */
        checkpoint: z.string().min(1),
        /** Drop a sample whose cosine similarity to an earlier kept sample (or an evaluation image) is ≥ this. */
        minSimilarity: z.number().gt(0, 'a cosine similarity in (0, 1]').max(1, 'a cosine similarity in (0, 1]'),
        batchSize: z.number().int().positive().optional(),
      })
      .strict()
      .optional(),
  })
  .strict();

const filters = z
  .object({
    caption: captionFilter.optional(),
    /** `true`: drop exact duplicate images (sha256 of the bytes) across all sources, first in spec order wins;
     * the object form adds near copies and decontamination against evaluation sets. */
    dedup: z.union([z.boolean(), dedupFilter]).optional(),
    clipScore: clipScoreSchema.optional(),
  })
  .strict();

const source = z
  .object({
    name,
    /** Shard directory, .tar, brace pattern or `::` list, relative to the spec file. */
    path: z.string().min(1),
    count: z.number().int().positive().optional(),
    proportion: z.number().gt(0).max(1).optional(),
    /** LAION: keep samples whose `similarity` (LAION's CLIP score, kept in each sample's json by ingest) is at least this. */
    minSimilarity: z.number().min(-1).max(1).optional(),
    /** LAION-2B: keep samples whose `punsafe` is at most this. */
    maxPunsafe: z.number().min(0).max(1).optional(),
  })
  .strict()
  .refine((s) => !(s.count !== undefined && s.proportion !== undefined), { message: 'give count or proportion, not both' });
export type SourceSpec = z.infer<typeof source>;

export const datasetSpecSchema = z
  .object({
    name: name.optional(),
    seed: z.number().int().nonnegative(),
    /** Total output size; needed when a source gives a proportion. */
    total: z.number().int().positive().optional(),
    shardSize: z.number().int().positive().optional(),
    sources: z.array(source).min(1),
    filters: filters.optional(),
  })
  .strict()
  .superRefine((spec, ctx) => {
    const names = new Set<string>();
    spec.sources.forEach((s, i) => {
      if (names.has(s.name)) ctx.addIssue({ code: 'custom', path: ['sources', i, 'name'], message: `duplicate source name '${s.name}'` });
      names.add(s.name);
      if (s.proportion !== undefined && spec.total === undefined) ctx.addIssue({ code: 'custom', path: ['sources', i, 'proportion'], message: 'a proportion needs `total`' });
    });
    const props = spec.sources.filter((s) => s.proportion !== undefined);
    const sum = props.reduce((a, s) => a + s.proportion!, 0);
    if (props.length === spec.sources.length && Math.abs(sum - 1) > 1e-6) ctx.addIssue({ code: 'custom', path: ['sources'], message: `proportions sum to ${sum}, not 1` });
    const fixed = spec.sources.reduce((a, s) => a + (s.count ?? 0), 0);
    if (spec.total !== undefined && props.length === 0 && spec.sources.every((s) => s.count !== undefined) && fixed !== spec.total)
      ctx.addIssue({ code: 'custom', path: ['total'], message: `counts sum to ${fixed}, not total ${spec.total}` });
    if (sum > 1 + 1e-6) ctx.addIssue({ code: 'custom', path: ['sources'], message: `proportions sum to ${sum} > 1` });
  });

export type DatasetSpec = z.infer<typeof datasetSpecSchema>;
export type CaptionFilterSpec = z.infer<typeof captionFilter>;
export type ClipScoreFilterSpec = z.infer<typeof clipScoreSchema>;
export type DedupSpec = z.infer<typeof dedupFilter> | boolean;

interface Issue {
  code: string;
  path: PropertyKey[];
  message: string;
  errors?: Issue[][];
}

/**
 * The issue to report: for a union (`dedup: true | {…}`), the branch issue deepest inside the value, so that
 * a bad key of the object form is named rather than the whole union's "Invalid input".
 */
function reportedIssue(issue: Issue): { path: PropertyKey[]; message: string } {
  let best: { path: PropertyKey[]; message: string } | null = null;
  for (const sub of issue.code === 'invalid_union' ? (issue.errors ?? []).flat() : []) {
    const r = reportedIssue(sub);
    if (r.path.length > (best?.path.length ?? 0)) best = r;
  }
  return best ? { path: [...issue.path, ...best.path], message: best.message } : { path: issue.path, message: issue.message };
}

/** Validates a parsed spec; errors read `FILE: sources.1.count: expected number`. */
export function validateSpec(value: unknown, where: string): DatasetSpec {
  const r = datasetSpecSchema.safeParse(value);
  if (!r.success) {
    const issue = reportedIssue(r.error.issues[0]! as Issue);
    const path = issue.path.length ? issue.path.map(String).join('.') : '(root)';
    throw new InputError(`${where}: ${path}`, issue.message);
  }
  return r.data;
}

/** Reads a YAML (.yaml/.yml) or JSON spec file. `baseDir` is where relative paths in it resolve. */
export function loadSpec(file: string): { spec: DatasetSpec; baseDir: string } {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    throw new InputError(file, 'cannot read the spec file');
  }
  let value: unknown;
  try {
    value = /\.ya?ml$/i.test(file) ? parseYaml(text) : JSON.parse(text);
  } catch (e) {
    throw new InputError(file, `not valid ${/\.ya?ml$/i.test(file) ? 'YAML' : 'JSON'}: ${(e as Error).message.split('\n')[0]}`);
  }
  return { spec: validateSpec(value, file), baseDir: dirname(resolve(file)) };
}

/**
 * Output count per source: `count` as given; proportions × total by largest remainder, after taking the fixed
 * counts out; `null` (= every eligible sample) for a source with neither.
 */
export function resolveCounts(spec: DatasetSpec): (number | null)[] {
  const fixed = spec.sources.reduce((a, s) => a + (s.count ?? 0), 0);
  const propIdx = spec.sources.flatMap((s, i) => (s.proportion !== undefined ? [i] : []));
  const out: (number | null)[] = spec.sources.map((s) => s.count ?? null);
  if (propIdx.length === 0) return out;
  const total = spec.total!;
  const sumP = propIdx.reduce((a, i) => a + spec.sources[i]!.proportion!, 0);
  const pool = propIdx.length === spec.sources.length ? total : Math.round(total * sumP);
  if (fixed > total) throw new InputError('total', `counts (${fixed}) exceed total ${total}`);
  const exact = propIdx.map((i) => (pool * spec.sources[i]!.proportion!) / sumP);
  const floors = exact.map(Math.floor);
  let left = pool - floors.reduce((a, b) => a + b, 0);
  const order = exact.map((x, k) => [x - Math.floor(x), k] as const).sort((a, b) => b[0] - a[0] || a[1] - b[1]);
  for (const [, k] of order) {
    if (left <= 0) break;
    floors[k]!++;
    left--;
  }
  propIdx.forEach((i, k) => (out[i] = floors[k]!));
  return out;
}
