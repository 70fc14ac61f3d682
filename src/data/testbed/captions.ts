// Caption conventions of the training sources, each built from real annotations of the concept
// (CLDR names and keywords, emojibase labels, tags, shortcodes and groups). See docs/testbed.md.
import type { Concept } from './annotations.js';
import { CAPTION_LOCALES } from './annotations.js';
import type { CaptionConvention } from './constants.js';
import type { Rng } from '../../util/rng.js';

export interface Caption {
  text: string;
  /** Language of the caption (BCP 47 tag as CLDR uses it). */
  lang: string;
}

function pick<T>(rng: Rng, items: readonly T[]): T {
  return items[rng.int(items.length)]!;
}

function capitalize(s: string): string {
  return s.length > 0 ? s[0]!.toUpperCase() + s.slice(1) : s;
}

/** `k` items of `items` in a random order. */
function sample<T>(rng: Rng, items: readonly T[], k: number): T[] {
  return rng.shuffle([...items]).slice(0, Math.min(k, items.length));
}

const ALT_TEXT = [(n: string) => n, (n: string) => capitalize(n), (n: string) => `${n} emoji`, (n: string) => `${capitalize(n)} emoji`, (n: string) => `${n} icon`, (n: string) => `emoji: ${n}`];

const LABEL_CATEGORY = [
  (c: Concept) => `${c.label}, ${c.group}`,
  (c: Concept) => `${c.label}, ${c.group}, ${c.subgroup}`,
  (c: Concept) => `${c.group} / ${c.subgroup}: ${c.label}`,
];

const STOCK = [
  (n: string) => `${capitalize(n)} 3D icon isolated on white background`,
  (n: string, k: string[]) => `${capitalize(n)} 3d render illustration, ${k.join(', ')}`,
  (n: string) => `Cute ${n} emoji in 3d style`,
  (n: string, k: string[]) => `3D ${n} icon. ${k.map(capitalize).join(', ')} concept`,
];

/** Share of the multilingual captions that are English; the rest spread evenly over CAPTION_LOCALES. */
export const MULTILINGUAL_ENGLISH_SHARE = 0.3;

function shortcodeOf(c: Concept, rng: Rng): string {
  return c.shortcodes.length > 0 ? pick(rng, c.shortcodes) : c.label.toLowerCase().replace(/[^\p{L}\p{N}]+/gu, '_');
}

/** One caption of `concept` in `convention`; the variation (template, keyword subset, locale) comes from `rng`. */
export function makeCaption(convention: CaptionConvention, concept: Concept, rng: Rng): Caption {
  switch (convention) {
    case 'alt-text':
      return { text: pick(rng, ALT_TEXT)(concept.name), lang: 'en' };
    case 'cldr-keywords': {
      const kws = concept.keywords.length > 0 ? concept.keywords : [concept.name];
      return { text: sample(rng, kws, 3 + rng.int(4)).join(' | '), lang: 'en' };
    }
    case 'shortcode-tags': {
      const code = shortcodeOf(concept, rng);
      const tags = sample(rng, concept.tags, 1 + rng.int(3)).map((t) => `#${t.replace(/\s+/g, '')}`);
      return { text: [`:${code}:`, ...tags].join(' '), lang: 'en' };
    }
    case 'label-category':
      return { text: pick(rng, LABEL_CATEGORY)(concept), lang: 'en' };
    case 'multilingual': {
      const locales = CAPTION_LOCALES.filter((l) => concept.names[l] !== undefined);
      const lang = rng.random() < MULTILINGUAL_ENGLISH_SHARE || locales.length === 0 ? 'en' : pick(rng, locales);
      return { text: concept.names[lang]!, lang };
    }
    case 'stock-description': {
      const kws = sample(rng, concept.keywords.length > 0 ? concept.keywords : [concept.name], 2 + rng.int(2));
      return { text: pick(rng, STOCK)(concept.name, kws), lang: 'en' };
    }
  }
}
