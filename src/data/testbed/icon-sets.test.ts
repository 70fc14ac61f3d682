// Concept mapping: icon names of every set matched to emoji, the shared concept set, the fixed eval classes.
import { beforeAll, describe, expect, it } from 'vitest';
import { loadAnnotations, normalizeHexcode, slugify, type Annotations } from './annotations.js';
import { EVAL_CLASS_COUNT, ICON_SETS } from './constants.js';
import { conceptPriority, evalClasses, isEvalCandidate, loadIconSets, sharedConcepts, type IconSetIndex } from './icon-sets.js';

let ann: Annotations;
let sets: Map<string, IconSetIndex>;
let shared: string[];

beforeAll(() => {
  ann = loadAnnotations();
  sets = loadIconSets(ann) as Map<string, IconSetIndex>;
  shared = sharedConcepts(sets.values());
});

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
  it('match over a thousand concepts in each set, via chars.json or names', () => {
    for (const name of ICON_SETS) expect(sets.get(name)!.icons.size, name).toBeGreaterThan(1000);
  });
  it('share about 1,050 concepts, including known ones in every set', () => {
    expect(shared.length).toBeGreaterThan(950);
    expect(shared.length).toBeLessThan(1200);
    for (const hex of ['1F600', '1F34E', '1F415', '1F697', '2615']) {
      expect(shared, ann.concepts.get(hex)!.name).toContain(hex);
      for (const s of sets.values()) expect(s.icons.get(hex)?.svg.body.length ?? 0, `${s.name} ${hex}`).toBeGreaterThan(20);
    }
    expect(sets.get('twemoji')!.icons.get('1F600')!.icon).toBe('grinning-face');
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
    const priority = conceptPriority(shared, ann);
    expect(new Set(priority).size).toBe(shared.length);
    const classes = evalClasses(priority, ann);
    expect(classes.length).toBe(EVAL_CLASS_COUNT);
    expect([...classes].sort()).toEqual(classes);
    expect(evalClasses(conceptPriority([...shared].reverse(), ann), ann)).toEqual(classes);
    for (const h of classes) {
      const c = ann.concepts.get(h)!;
      expect(isEvalCandidate(c), c.name).toBe(true);
      expect(h).not.toContain('-');
      expect(c.group).not.toMatch(/flags|symbols|components/);
    }
    const names = classes.map((h) => ann.concepts.get(h)!.name);
    expect(new Set(names).size).toBe(names.length);
  });
  it('a --concepts N universe keeps the first N priority concepts, classes among them', () => {
    const priority = conceptPriority(shared, ann);
    expect(evalClasses(priority, ann, 10)).toEqual([...priority.slice(0, 10)].sort());
  });
});
