// Caption filters for dataset designs: length, word count, Unicode script, language (CLD3), class-name mentions
// (as whole phrases, or word by word as DataComp's text-based baseline); image hashing.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { InputError } from '../../util/errors.js';
import { languageDetector, type DetectedLanguage } from './language.js';
import type { CaptionFilterSpec, ScriptName, SourceSpec } from './spec.js';

const SCRIPT_RE: Record<ScriptName, RegExp> = {
  latin: /\p{Script=Latin}/u,
  cyrillic: /\p{Script=Cyrillic}/u,
  greek: /\p{Script=Greek}/u,
  arabic: /\p{Script=Arabic}/u,
  hebrew: /\p{Script=Hebrew}/u,
  han: /\p{Script=Han}/u,
  hiragana: /\p{Script=Hiragana}/u,
  katakana: /\p{Script=Katakana}/u,
  hangul: /\p{Script=Hangul}/u,
  devanagari: /\p{Script=Devanagari}/u,
  thai: /\p{Script=Thai}/u,
};

/** Why a caption was dropped (counted per source in the manifest). */
export type CaptionRejection = 'tooShort' | 'tooLong' | 'tooFewWords' | 'tooManyWords' | 'script' | 'language' | 'mentions';

/** Lowercase, letters and digits only, single spaces, padded: `' a red fox '`. */
export function normalizeForMatch(text: string): string {
  return ` ${text.toLowerCase().replace(/[^\p{L}\p{N}]+/gu, ' ').trim()} `;
}

/** Class names from a list or a file: JSON array, JSON object (its values, strings or arrays of synonyms) or text lines. */
export function loadClassNames(value: string[] | string, baseDir: string, where: string): string[] {
  if (Array.isArray(value)) return value;
  const file = resolve(baseDir, value);
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    throw new InputError(where, `cannot read class names file ${file}`);
  }
  try {
    const v: unknown = JSON.parse(text);
    const flat = (x: unknown): string[] => (typeof x === 'string' ? [x] : Array.isArray(x) ? x.flatMap(flat) : x && typeof x === 'object' ? Object.values(x).flatMap(flat) : []);
    const names = flat(v);
    if (names.length === 0) throw new InputError(where, `no class names in ${file}`);
    return names;
  } catch (e) {
    if (e instanceof InputError) throw e;
    return text.split(/\r?\n/).map((l) => l.trim()).filter((l) => l.length > 0 && !l.startsWith('#'));
  }
}

/** A compiled caption filter: returns null to keep, or the reason to drop. */
export type CaptionFilter = (caption: string) => CaptionRejection | null;

/**
 * WordNet's noun detachment rules (morphy), which DataComp's lookup applies before matching a word:
 * dogs → dog, boxes → box, ladies → lady, firemen → fireman.
 */
const NOUN_SUFFIXES: [string, string][] = [['s', ''], ['ses', 's'], ['xes', 'x'], ['zes', 'z'], ['ches', 'ch'], ['shes', 'sh'], ['men', 'man'], ['ies', 'y']];

/**
 * DataComp's text-based test, on class names: split the caption on whitespace (punctuation stays attached,
 * as in its `text.split()`), lowercase each word, and look it and its singular forms up among the class names'
 * words (a one-word name, or the last word of a longer one, parentheses dropped).
 */
export function datacompMatcher(classes: string[]): (caption: string) => boolean {
  const words = new Set<string>();
  for (const c of classes) {
    const w = c.replace(/\([^)]*\)/g, ' ').trim().toLowerCase().split(/\s+/);
    if (w.length && w.at(-1)) words.add(w.at(-1)!);
  }
  return (caption) => {
    for (const raw of caption.split(/\s+/)) {
      const w = raw.toLowerCase();
      if (!w) continue;
      if (words.has(w)) return true;
      for (const [suf, rep] of NOUN_SUFFIXES) if (w.endsWith(suf) && words.has(w.slice(0, w.length - suf.length) + rep)) return true;
    }
    return false;
  };
}

function mentionMatcher(spec: NonNullable<CaptionFilterSpec['mentions']>, baseDir: string): (caption: string) => boolean {
  const names = loadClassNames(spec.classes, baseDir, 'filters.caption.mentions.classes');
  if (spec.match === 'datacomp') return datacompMatcher(names);
  const classes = names.map(normalizeForMatch).filter((c) => c.trim().length > 0);
  return (caption) => {
    const norm = normalizeForMatch(caption);
    return classes.some((c) => norm.includes(c));
  };
}

function scriptFraction(text: string, scripts: RegExp[]): number {
  let letters = 0;
  let inScript = 0;
  for (const ch of text.match(/\p{L}/gu) ?? []) {
    letters++;
    if (scripts.some((re) => re.test(ch))) inScript++;
  }
  return letters === 0 ? -1 : inScript / letters; // no letters: never enough
}

/** A caption filter; `detect` is needed when the spec names `languages` (see openCaptionFilter). */
export function compileCaptionFilter(spec: CaptionFilterSpec | undefined, baseDir: string, detect?: (text: string) => DetectedLanguage): CaptionFilter {
  if (!spec) return () => null;
  const scripts = spec.scripts?.map((s) => SCRIPT_RE[s]);
  const minFrac = spec.minScriptFraction ?? 0.8;
  const languages = spec.languages ? new Set(spec.languages) : null;
  if (languages && !detect) throw new Error('compileCaptionFilter: languages need a detector (use openCaptionFilter)');
  const minProb = spec.minLanguageProbability ?? 0;
  const mentions = spec.mentions ? mentionMatcher(spec.mentions, baseDir) : null;
  const must = spec.mentions?.mode === 'must';
  return (caption) => {
    const text = caption.trim();
    const len = [...text].length;
    if (spec.minLength !== undefined && len < spec.minLength) return 'tooShort';
    if (spec.maxLength !== undefined && len > spec.maxLength) return 'tooLong';
    if (spec.minWords !== undefined || spec.maxWords !== undefined) {
      const words = text.match(/[\p{L}\p{N}]+/gu)?.length ?? 0;
      if (spec.minWords !== undefined && words < spec.minWords) return 'tooFewWords';
      if (spec.maxWords !== undefined && words > spec.maxWords) return 'tooManyWords';
    }
    if (scripts && scriptFraction(text, scripts) < minFrac) return 'script';
    if (languages) {
      const l = detect!(caption);
      if (!languages.has(l.language) || l.probability < minProb) return 'language';
    }
    if (mentions && mentions(text) !== must) return 'mentions';
    return null;
  };
}

/** compileCaptionFilter, loading the language model first when the spec filters by language. */
export async function openCaptionFilter(spec: CaptionFilterSpec | undefined, baseDir: string): Promise<CaptionFilter> {
  return compileCaptionFilter(spec, baseDir, spec?.languages ? await languageDetector() : undefined);
}

/** sha256 of the image bytes, hex. */
export function imageHash(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/** Why LAION's own columns drop a sample (a source's minSimilarity / maxPunsafe), or null to keep it. */
export type MetadataRejection = 'lowSimilarity' | 'noSimilarity' | 'unsafe' | 'noPunsafe';

export function laionRejection(meta: Record<string, unknown>, src: Pick<SourceSpec, 'minSimilarity' | 'maxPunsafe'>): MetadataRejection | null {
  const num = (v: unknown): number | null => (typeof v === 'number' && Number.isFinite(v) ? v : null);
  if (src.minSimilarity !== undefined) {
    const s = num(meta.similarity);
    if (s === null) return 'noSimilarity';
    if (s < src.minSimilarity) return 'lowSimilarity';
  }
  if (src.maxPunsafe !== undefined) {
    const p = num(meta.punsafe);
    if (p === null) return 'noPunsafe';
    if (p > src.maxPunsafe) return 'unsafe';
  }
  return null;
}
