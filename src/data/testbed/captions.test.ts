// Caption conventions: each source's captions follow its convention and come from the real annotations.
import { beforeAll, describe, expect, it } from 'vitest';
import { loadAnnotations, type Concept } from './annotations.js';
import { makeCaption, MULTILINGUAL_ENGLISH_SHARE } from './captions.js';
import { Rng } from '../../util/rng.js';

let grin: Concept;
let cook: Concept;

beforeAll(() => {
  const ann = loadAnnotations();
  grin = ann.concepts.get('1F600')!;
  cook = ann.concepts.get('1F468-200D-1F373')!;
});

function many(conv: Parameters<typeof makeCaption>[0], c: Concept, n = 200) {
  const rng = new Rng(1);
  return Array.from({ length: n }, () => makeCaption(conv, c, rng));
}

describe('caption conventions', () => {
  it('alt-text: the CLDR short name, as alt text', () => {
    for (const { text, lang } of many('alt-text', grin)) {
      expect(text.toLowerCase()).toContain('grinning face');
      expect(lang).toBe('en');
    }
  });
  it('cldr-keywords: 3–6 CLDR keywords joined by " | "', () => {
    for (const { text } of many('cldr-keywords', grin)) {
      const kws = text.split(' | ');
      expect(kws.length).toBeGreaterThanOrEqual(3);
      expect(kws.length).toBeLessThanOrEqual(6);
      for (const k of kws) expect(grin.keywords).toContain(k);
    }
  });
  it('shortcode-tags: an emojibase shortcode and 1–3 hashtags from its tags', () => {
    for (const { text } of many('shortcode-tags', grin)) {
      const m = /^:([^:\s]+):((?: #\S+)+)$/.exec(text);
      expect(m, text).not.toBeNull();
      expect(grin.shortcodes).toContain(m![1]);
      for (const t of m![2]!.trim().split(' ')) expect(grin.tags).toContain(t.slice(1));
    }
  });
  it('label-category: emojibase label with its group', () => {
    for (const { text } of many('label-category', grin)) {
      expect(text).toContain('grinning face');
      expect(text).toContain('smileys & emotion');
    }
  });
  it('multilingual: the CLDR name in one of several locales, about 30% English', () => {
    const caps = many('multilingual', grin, 1000);
    for (const { text, lang } of caps) expect(text).toBe(grin.names[lang]);
    const en = caps.filter((c) => c.lang === 'en').length / caps.length;
    expect(en).toBeGreaterThan(MULTILINGUAL_ENGLISH_SHARE - 0.06);
    expect(en).toBeLessThan(MULTILINGUAL_ENGLISH_SHARE + 0.15);
    expect(new Set(caps.map((c) => c.lang)).size).toBeGreaterThan(8);
  });
  it('stock-description: a stock-photo style sentence with the name', () => {
    for (const { text } of many('stock-description', grin)) expect(text.toLowerCase()).toContain('grinning face');
  });
  it('handles ZWJ sequences that CLDR has no entry for (emojibase fallbacks)', () => {
    expect(cook.name).toBe('man cook');
    for (const conv of ['alt-text', 'cldr-keywords', 'shortcode-tags', 'label-category', 'multilingual', 'stock-description'] as const) {
      for (const { text } of many(conv, cook, 20)) expect(text.length, conv).toBeGreaterThan(2);
    }
  });
});
