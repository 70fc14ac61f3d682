// Tests for the literature's caption filters (CLD3 language, DataComp's text-based match), the CLIP-score
// presets, and the scoring device choice.
import { describe, it, expect } from 'vitest';
import { join } from 'node:path';
import { compileCaptionFilter, datacompMatcher, openCaptionFilter } from './filters.js';
import { languageDetector } from './language.js';
import { clipScoreFilter, validateSpec } from './spec.js';
import { scoringDevice } from './clip-scorer.js';

const classnames = join(process.cwd(), 'assets', 'zeroshot', 'imagenet_classnames.json');

describe('caption language (CLD3)', () => {
  it('names the language of plain captions, the same on every call', async () => {
    const detect = await languageDetector();
    expect(detect('a photo of a red fox sitting in the snow').language).toBe('en');
    expect(detect('Ein Hund spielt im Park mit einem roten Ball').language).toBe('de');
    expect(detect('un chat noir dort sur le canapé du salon').language).toBe('fr');
    expect(detect('Собака играет в парке с мячом').language).toBe('ru');
    expect(detect('公園で犬がボールで遊んでいる').language).toBe('ja');
    const a = detect('Una foto de un perro en la playa');
    expect(a.language).toBe('es');
    expect(detect('Una foto de un perro en la playa')).toEqual(a);
  });

  it('filters by language and probability, counted as `language`', async () => {
    const f = await openCaptionFilter({ languages: ['en'] }, process.cwd());
    expect(f('a photo of a red fox sitting in the snow')).toBeNull();
    expect(f('Ein Hund spielt im Park mit einem roten Ball')).toBe('language');
    const strict = await openCaptionFilter({ languages: ['en', 'de'], minLanguageProbability: 0.999 }, process.cwd());
    expect(strict('Ein Hund spielt im Park mit einem roten Ball')).toBeNull();
    expect(strict('IMG 2043')).toBe('language');
    expect(() => compileCaptionFilter({ languages: ['en'] }, process.cwd())).toThrow(/detector/);
    expect(() => validateSpec({ seed: 0, sources: [{ name: 'a', path: 'x' }], filters: { caption: { languages: ['English'] } } }, 's')).toThrow(/filters\.caption\.languages\.0: a CLD3 language code/);
  });
});

describe("DataComp's text-based filter", () => {
  it('matches whitespace words, lowercased and singularized, against class names and their last words', () => {
    const m = datacompMatcher(['tench', 'great white shark', 'kite (bird of prey)', 'box turtle', 'lady', 'fireman']);
    expect(m('A Tench caught today')).toBe(true);
    expect(m('sharks in the bay')).toBe(true); // last word of 'great white shark', plural
    expect(m('turtles')).toBe(true);
    expect(m('a kite')).toBe(true); // parenthesis dropped
    expect(m('two ladies')).toBe(true); // ies → y
    expect(m('firemen at work')).toBe(true); // men → man
    expect(m('a great white whale')).toBe(false); // 'great' and 'white' are not last words
    expect(m('a tench.')).toBe(false); // punctuation stays attached, as in text.split()
    expect(m('sharkfin soup')).toBe(false);
  });

  it('runs on the shipped ImageNet class names from a spec', () => {
    const f = compileCaptionFilter({ mentions: { classes: classnames, mode: 'must', match: 'datacomp' } }, process.cwd());
    expect(f('my goldfish in its bowl')).toBeNull();
    expect(f('two tabby cats on a sofa')).toBeNull(); // 'tabby cat' → cat
    expect(f('a quiet afternoon')).toBe('mentions');
  });
});

describe('CLIP-score presets', () => {
  it("stand for LAION's and DataComp's published cuts, one of threshold/topFraction/preset", () => {
    const spec = (clipScore: object) => validateSpec({ seed: 0, sources: [{ name: 'a', path: 'x' }], filters: { clipScore: { checkpoint: 'c', ...clipScore } } }, 's').filters!.clipScore!;
    expect(clipScoreFilter(spec({ preset: 'laion400m' }))).toEqual({ threshold: 0.3, batchSize: 64 });
    expect(clipScoreFilter(spec({ preset: 'laion2b' }))).toEqual({ threshold: 0.28, batchSize: 64 });
    expect(clipScoreFilter(spec({ preset: 'datacomp-b32' }))).toEqual({ threshold: 0.25, batchSize: 64 });
    expect(clipScoreFilter(spec({ preset: 'datacomp-l14-top30', batchSize: 8 }))).toEqual({ topFraction: 0.3, batchSize: 8 });
    expect(() => spec({ preset: 'laion2b', threshold: 0.2 })).toThrow(/give exactly one of threshold, topFraction or preset/);
    expect(() => spec({ preset: 'laion9b' })).toThrow(/filters\.clipScore\.preset/);
  });
});

describe('scoring device', () => {
  it('cpu as asked; cuda when the provider is there; a one-line error or a CPU fallback with a note when not', async () => {
    const notes: string[] = [];
    const note = (m: string) => notes.push(m);
    expect(await scoringDevice('cpu', note, async () => true)).toBe('cpu');
    expect(await scoringDevice('cuda', note, async () => true)).toBe('cuda');
    expect(await scoringDevice('auto', note, async () => true)).toBe('cuda');
    expect(notes).toEqual([]);
    await expect(scoringDevice('cuda', note, async () => false)).rejects.toThrow(/^--device cuda: .*CUDA provider.*not installed/);
    expect(await scoringDevice('auto', note, async () => false)).toBe('cpu');
    expect(notes).toEqual(['--device auto: no CUDA provider for onnxruntime-node here, scoring on the CPU']);
  });
});
