// Caption filters for dataset designs: length, word count, Unicode script, class-name mentions; image hashing.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { InputError } from '../../util/errors.js';
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
export type CaptionRejection = 'tooShort' | 'tooLong' | 'tooFewWords' | 'tooManyWords' | 'script' | 'mentions';

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

export function compileCaptionFilter(spec: CaptionFilterSpec | undefined, baseDir: string): CaptionFilter {
  if (!spec) return () => null;
  const scripts = spec.scripts?.map((s) => SCRIPT_RE[s]);
  const minFrac = spec.minScriptFraction ?? 0.8;
  const classes = spec.mentions ? loadClassNames(spec.mentions.classes, baseDir, 'filters.caption.mentions.classes').map(normalizeForMatch).filter((c) => c.trim().length > 0) : null;
  const mode = spec.mentions?.mode;
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
    if (scripts) {
      let letters = 0;
      let inScript = 0;
      for (const ch of text.match(/\p{L}/gu) ?? []) {
        letters++;
        if (scripts.some((re) => re.test(ch))) inScript++;
      }
      if (letters === 0 || inScript / letters < minFrac) return 'script';
    }
    if (classes) {
      const norm = normalizeForMatch(text);
      const hit = classes.some((c) => norm.includes(c));
      if (hit !== (mode === 'must')) return 'mentions';
    }
    return null;
  };
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
