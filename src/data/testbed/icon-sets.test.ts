// Concept mapping: icon names of every set matched to emoji, the concepts shared by the evaluation sets,
// the per-family coverage rule and the fixed eval classes.
import { beforeAll, describe, expect, it } from 'vitest';
import { loadAnnotations, normalizeHexcode, slugify, type Annotations } from './annotations.js';
import { CLASS_FAMILIES, EVAL_CLASS_COUNT, EVAL_ICON_SET_NAMES } from './constants.js';
import { FAMILY_SETS, allSetRefs, refKey } from './families.js';
import {
  MIN_ARTWORKS_PER_FAMILY,
  classEligibility,
  conceptPriority,
  evalClasses,
  isEvalCandidate,
  loadIconSets,
  sharedConcepts,
  stripStyleSuffixes,
  type IconSetIndex,
} from './icon-sets.js';

let ann: Annotations;
let sets: Map<string, IconSetIndex>;
let shared: string[];
let eligible: (hex: string) => boolean;

beforeAll(() => {
  ann = loadAnnotations();
  sets = loadIconSets(ann);
  shared = sharedConcepts(EVAL_ICON_SET_NAMES.map((n) => sets.get(n)!));
  eligible = classEligibility(ann, CLASS_FAMILIES.map((f) => FAMILY_SETS[f].map((r) => sets.get(refKey(r))!)));
}, 600_000);

describe('annotations', () => {
  it('normalizes hexcodes and slugifies names as icon sets do', () => {
    expect(normalizeHexcode('2764-fe0f-200d-1f525')).toBe('2764-200D-1F525');
    expect(slugify('A button (blood type)')).toBe('a-button-blood-type');
    expect(slugify('piñata')).toBe('pinata');
    expect(slugify('Japanese “here” button')).toBe('japanese-here-button');
  });
  it('joins emojibase and CLDR: names, keywords, tags, shortcodes, groups, locales', () => {
    const c = ann.concepts.get('1F600')!;
    expect(c.name).toBe('grinning face');
    expect(c.keywords).toContain('grin');
    expect(c.tags.length).toBeGreaterThan(0);
    expect(c.shortcodes).toContain('grinning');
    expect(c.group).toBe('smileys & emotion');
    expect(c.names.de).toBe('grinsendes Gesicht');
  });
});

describe('icon sets', () => {
  it('match over a thousand concepts in each evaluation set, via chars.json or names', () => {
    for (const name of EVAL_ICON_SET_NAMES) expect(sets.get(name)!.icons.size, name).toBeGreaterThan(1000);
    expect(sets.size).toBe(allSetRefs().length);
  });
  it('share about 1,000 concepts across the evaluation sets, including known ones', () => {
    expect(shared.length).toBeGreaterThan(950);
    expect(shared.length).toBeLessThan(1200);
    for (const hex of ['1F600', '1F34E', '1F415', '1F697', '2615']) {
      expect(shared, ann.concepts.get(hex)!.name).toContain(hex);
      for (const n of EVAL_ICON_SET_NAMES) expect(sets.get(n)!.icons.get(hex)?.svg.body.length ?? 0, `${n} ${hex}`).toBeGreaterThan(20);
    }
    expect(sets.get('twemoji')!.icons.get('1F600')!.icon).toBe('grinning-face');
  });
  it('match UI icon names to concepts: preferred style suffix first, then exact, then suffixes stripped', () => {
    expect(stripStyleSuffixes('bell-outline')).toBe('bell');
    expect(stripStyleSuffixes('home-24-regular')).toBe('home');
    expect(stripStyleSuffixes('cat-bold-duotone')).toBe('cat');
    expect(stripStyleSuffixes('line')).toBe('line');
    // 1F514 bell, 2602 umbrella (U+FE0F dropped): names as the packages spell them.
    expect(sets.get('ri:fill')!.icons.get('1F514')!.icon).toBe('bell-fill');
    expect(sets.get('ri:line')!.icons.get('1F514')!.icon).toBe('bell-line');
    expect(sets.get('mdi')!.icons.get('1F514')!.icon).toBe('bell');
    expect(sets.get('mingcute:line')!.icons.get('2602')!.icon).toBe('umbrella-line');
    expect(sets.get('solar:linear')!.icons.get('1F514')!.icon).toBe('bell-linear');
  });
  it('never gives one icon to two concepts and skips skin-tone variants', () => {
    for (const s of sets.values()) {
      const icons = [...s.icons.values()].map((i) => i.icon);
      expect(new Set(icons).size, s.name).toBe(icons.length);
      expect([...s.icons.keys()].some((h) => /1F3F[B-F]/.test(h)), s.name).toBe(false);
    }
  });
});

describe('evaluation classes', () => {
  it('are a fixed, sorted subset of 100 distinct-looking single-code-point concepts', () => {
    const priority = conceptPriority(shared, eligible);
    expect(new Set(priority).size).toBe(shared.length);
    const classes = evalClasses(priority, eligible);
    expect(classes.length).toBe(EVAL_CLASS_COUNT);
    expect([...classes].sort()).toEqual(classes);
    expect(evalClasses(conceptPriority([...shared].reverse(), eligible), eligible)).toEqual(classes);
    for (const h of classes) {
      const c = ann.concepts.get(h)!;
      expect(isEvalCandidate(c), c.name).toBe(true);
      for (const f of CLASS_FAMILIES) {
        const drawn = FAMILY_SETS[f].filter((r) => sets.get(refKey(r))!.icons.has(h)).length;
        expect(drawn, `${c.name} in ${f}`).toBeGreaterThanOrEqual(MIN_ARTWORKS_PER_FAMILY);
      }
      expect(h).not.toContain('-');
      expect(c.group).not.toMatch(/flags|symbols|components/);
    }
    const names = classes.map((h) => ann.concepts.get(h)!.name);
    expect(new Set(names).size).toBe(names.length);
  });
  it('a --concepts N universe keeps the first N priority concepts, classes among them', () => {
    const priority = conceptPriority(shared, eligible);
    expect(evalClasses(priority, eligible, 10)).toEqual([...priority.slice(0, 10)].sort());
  });
  it('leave out UI-icon homonyms (a computer mouse is not the animal)', () => {
    expect(isEvalCandidate(ann.concepts.get('1F401')!)).toBe(false);
    expect(isEvalCandidate(ann.concepts.get('1F415')!)).toBe(true);
  });
});
