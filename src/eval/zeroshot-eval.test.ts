// End-to-end library tests on a tiny ImageFolder where a stub model's answers are known exactly: metrics, the
// interval, unreadable images, error cases, head caching, output-mixing ensembles, result files.
import { mkdtempSync, readdirSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import sharp from 'sharp';
import { InputError } from '../util/errors.js';
import { stubModel, writeColorPng, type Rgb } from '../../test/support/stub-model.js';
import { readResults } from './result.js';
import { evaluateZeroShot } from './zeroshot-eval.js';

// Classes (sorted folders): blue cyan green magenta red white yellow; features are RGB vectors.
const COLORS: Record<string, Rgb> = {
  blue: [0, 0, 255],
  cyan: [0, 255, 255],
  green: [0, 255, 0],
  magenta: [255, 0, 255],
  red: [255, 0, 0],
  white: [255, 255, 255],
  yellow: [255, 255, 0],
};
const NAMES = Object.keys(COLORS).sort();
const vec = (rgb: Rgb) => rgb.map((v) => v / 255);

/** folder → colours of its images. Hand-derived answers below. */
const LAYOUT: Record<string, Rgb[]> = {
  blue: [COLORS.blue!, COLORS.blue!, COLORS.red!], // red image: blue ranks 5th (after red, magenta, yellow, white) → top-5 hit
  cyan: [COLORS.cyan!, COLORS.red!], // red image: cyan ties blue and green at 0, after 4 others and blue → 6th, top-5 miss
  green: [COLORS.green!],
  magenta: [COLORS.magenta!],
  red: [COLORS.red!, COLORS.red!, COLORS.yellow!], // yellow image: yellow, white, then green ties red → red 4th, top-5 hit
  white: [COLORS.white!],
  yellow: [COLORS.yellow!],
};

let root: string;
let folder: string;

const model = (id = 'stub', map: (name: string) => Rgb = (n) => COLORS[n]!) =>
  stubModel({ id, dim: 3, classnames: NAMES, textVector: (i) => vec(map(NAMES[i]!)), imageVector: vec, info: { samplesSeen: 1000, seed: 3, design: 'colors' } });

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'cliplab-eval-'));
  folder = join(root, 'colors');
  for (const [dir, colors] of Object.entries(LAYOUT)) for (const [i, c] of colors.entries()) await writeColorPng(join(folder, dir, `${i}.png`), c);
  writeFileSync(join(folder, 'yellow', 'broken.png'), Buffer.from('not a png at all'));
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe('evaluateZeroShot on a known ImageFolder', () => {
  it('gets acc1, acc5, mean per-class recall, the interval and per-class accuracy exactly', async () => {
    const warnings: string[] = [];
    const { results } = await evaluateZeroShot({ members: [{ model: model(), weight: 1 }], imagefolder: folder, templates: 'simple', decodeThreads: 1, onWarning: (w) => warnings.push(w) });
    expect(results).toHaveLength(1);
    const r = results[0]!;
    expect(r.n).toBe(12);
    expect(r.n_files).toBe(13);
    expect(r.n_skipped).toBe(1);
    expect(r.metrics.acc1).toBeCloseTo(9 / 12, 12);
    expect(r.metrics.acc5).toBeCloseTo(11 / 12, 12);
    expect(r.metrics.mean_per_class_recall).toBeCloseTo((2 / 3 + 1 / 2 + 1 + 1 + 2 / 3 + 1 + 1) / 7, 12);
    // scipy.stats.beta.ppf(0.025, 9, 4), beta.ppf(0.975, 10, 3)
    expect(r.metrics.acc1_ci95![0]).toBeCloseTo(0.4281415381218108, 10);
    expect(r.metrics.acc1_ci95![1]).toBeCloseTo(0.9451393554720072, 10);
    expect(r.per_class).toEqual({ blue: 2 / 3, cyan: 0.5, green: 1, magenta: 1, red: 2 / 3, white: 1, yellow: 1 });
    expect(r.classes).toMatchObject({ id: 'colors-7', count: 7 });
    expect(r.samples_seen).toBe(1000);
    expect(r.seed).toBe(3);
    expect(r.design).toBe('colors');
    expect(r.dataset).toBe('colors');
    expect((r.skipped as { file: string }[])[0]!.file).toContain('broken.png');
    expect(warnings.join('\n')).toMatch(/1 of 13 images unreadable, skipped \(n = 12\).*broken\.png/);
    expect((r.provenance as { templates: { count: number } }).templates.count).toBe(7);
  });

  it('decodes the same on the main thread and on workers', async () => {
    const a = await evaluateZeroShot({ members: [{ model: model(), weight: 1 }], imagefolder: folder, templates: 'simple', decodeThreads: 0, batchSize: 5 });
    const b = await evaluateZeroShot({ members: [{ model: model(), weight: 1 }], imagefolder: folder, templates: 'simple', decodeThreads: 2, batchSize: 4 });
    expect(a.results[0]!.metrics).toEqual(b.results[0]!.metrics);
    expect(a.results[0]!.per_class).toEqual(b.results[0]!.per_class);
  });

  it('caches heads per (model, classes, templates) and rebuilds when the model key changes', async () => {
    const cacheDir = join(root, 'cache');
    const run = async (key: string, templates: string) => {
      const m = model();
      m.headCache = { dir: cacheDir, modelKey: key, modelFile: '/x/model.safetensors' };
      await evaluateZeroShot({ members: [{ model: m, weight: 1 }], imagefolder: folder, templates, decodeThreads: 0 });
      return m.textCalls;
    };
    expect(await run('a'.repeat(64), 'simple')).toBeGreaterThan(0);
    expect(await run('a'.repeat(64), 'simple')).toBe(0);
    expect(await run('a'.repeat(64), 'openai')).toBeGreaterThan(0);
    expect(readdirSync(cacheDir).filter((f) => f.endsWith('.f32'))).toHaveLength(2);
    expect(await run('b'.repeat(64), 'simple')).toBeGreaterThan(0);
    // The new weights of the same file replace the old entries.
    expect(readdirSync(cacheDir).filter((f) => f.endsWith('.f32'))).toHaveLength(1);
  });

  it('writes one result file the analysis reader accepts', async () => {
    const out = join(root, 'out', 'r.json');
    const { files } = await evaluateZeroShot({ members: [{ model: model(), weight: 1 }], imagefolder: folder, templates: 'simple', decodeThreads: 0, out, modelId: 'm1' });
    expect(files).toEqual([out]);
    const [loaded] = readResults([out]);
    expect(loaded!.result.model).toBe('m1');
    expect(loaded!.result.task).toBe('zeroshot_classification');
  });
});

describe('output mixing', () => {
  // Member B swaps the text vectors of red and blue: alone it calls red images "blue".
  const swapped = (n: string): Rgb => COLORS[n === 'red' ? 'blue' : n === 'blue' ? 'red' : n]!;

  it('is the weighted mean of the members’ logits', async () => {
    const run = (wa: number, wb: number) =>
      evaluateZeroShot({ members: [{ model: model('A'), weight: wa }, { model: model('B', swapped), weight: wb }], imagefolder: folder, templates: 'simple', decodeThreads: 0 });
    const onlyA = (await run(1, 0)).results[0]!;
    const onlyB = (await run(0, 2)).results[0]!;
    expect(onlyA.metrics.acc1).toBeCloseTo(9 / 12, 12);
    // B: blue folder's 2 blue images → "red" (wrong), its red image → "blue" (right); red folder's 2 red → "blue" (wrong).
    expect(onlyB.per_class!.blue).toBeCloseTo(1 / 3, 12);
    expect(onlyB.per_class!.red).toBeCloseTo(0, 12);
    // Mixtures against a direct computation: argmax over classes of Σ w·cos(image, text_m(class)), lowest index on ties.
    const unit = (v: number[]) => v.map((x) => x / Math.hypot(...v));
    const cos = (a: number[], b: number[]) => unit(a).reduce((s, x, i) => s + x * unit(b)[i]!, 0);
    const expectedAcc1 = (wa: number, wb: number): number => {
      let hit = 0;
      let n = 0;
      for (const [dir, colors] of Object.entries(LAYOUT))
        for (const c of colors) {
          const scores = NAMES.map((name) => wa * cos(vec(c), vec(COLORS[name]!)) + wb * cos(vec(c), vec(swapped(name))));
          const pred = scores.findIndex((x) => x >= Math.max(...scores) - 1e-9);
          hit += NAMES[pred] === dir ? 1 : 0;
          n++;
        }
      return hit / n;
    };
    for (const [wa, wb] of [[3, 2], [2, 3], [1, 1], [9, 1]] as const) {
      const mix = (await run(wa, wb)).results[0]!;
      expect(mix.metrics.acc1).toBeCloseTo(expectedAcc1(wa / (wa + wb), wb / (wa + wb)), 12);
    }
    // A red image: A says red (1), B says blue (1); magenta and yellow score 0.707 in both, so at 0.6/0.4 magenta wins.
    const mix = (await run(3, 2)).results[0]!;
    expect(mix.per_class!.red).toBeCloseTo(0, 12);
    expect(mix.design_info).toMatchObject({ kind: 'ensemble', sources: { colors: 1 } });
    expect(mix.model).toBe('ensemble(A:0.6,B:0.4)');
    // Same decisions as A alone (mAP, which reads the scores themselves, may differ).
    const { mean_average_precision: _a, ...topA } = onlyA.metrics;
    const { mean_average_precision: _b, ...top91 } = (await run(9, 1)).results[0]!.metrics;
    expect(top91).toEqual(topA);
  });

  it('rejects weights that do not sum to something positive', async () => {
    await expect(evaluateZeroShot({ members: [{ model: model('A'), weight: 0 }], imagefolder: folder, decodeThreads: 0 })).rejects.toThrow(/weights/);
  });
});

describe('errors name the input', () => {
  it('an empty dataset', async () => {
    const dir = join(root, 'empty');
    mkdirSync(join(dir, 'a'), { recursive: true });
    mkdirSync(join(dir, 'b'), { recursive: true });
    await expect(evaluateZeroShot({ members: [{ model: model(), weight: 1 }], imagefolder: dir, decodeThreads: 0 })).rejects.toThrow(new RegExp(`${dir}: empty dataset`));
  });

  it('a class name absent from the head', async () => {
    await expect(
      evaluateZeroShot({ members: [{ model: model(), weight: 1 }], imagefolder: folder, headClassnames: NAMES.filter((n) => n !== 'cyan'), decodeThreads: 0 }),
    ).rejects.toThrow(/colors\/cyan: class name 'cyan' is absent from the zero-shot head/);
  });

  it('a missing class folder named in classes.json', async () => {
    const dir = join(root, 'named');
    await writeColorPng(join(dir, 'r', '0.png'), COLORS.red!);
    writeFileSync(join(dir, 'classes.json'), JSON.stringify([{ dir: 'r', name: 'red' }, { dir: 'g', name: 'green' }]));
    const err = await evaluateZeroShot({ members: [{ model: model(), weight: 1 }], imagefolder: dir, decodeThreads: 0 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InputError);
    expect((err as Error).message).toMatch(/missing class folder 'g' \(class 'green'/);
  });

  it('a class folder without a name in classnames.json', async () => {
    const dir = join(root, 'named2');
    await writeColorPng(join(dir, 'r', '0.png'), COLORS.red!);
    await writeColorPng(join(dir, 'g', '0.png'), COLORS.green!);
    writeFileSync(join(dir, 'classnames.json'), JSON.stringify({ r: 'red' }));
    await expect(evaluateZeroShot({ members: [{ model: model(), weight: 1 }], imagefolder: dir, decodeThreads: 0 })).rejects.toThrow(/classnames\.json: class folder 'g' has no class name here/);
    writeFileSync(join(dir, 'classnames.json'), JSON.stringify(['red', 'green']));
    // A list follows the sorted folders (g, r): here it names folder g "red", so every answer is wrong.
    const swapped = await evaluateZeroShot({ members: [{ model: model(), weight: 1 }], imagefolder: dir, decodeThreads: 0 });
    expect(swapped.results[0]!.per_class).toEqual({ red: 0, green: 0 });
    writeFileSync(join(dir, 'classnames.json'), JSON.stringify(['green', 'red']));
    const { results } = await evaluateZeroShot({ members: [{ model: model(), weight: 1 }], imagefolder: dir, decodeThreads: 0, headClassnames: NAMES });
    expect(results[0]!.per_class).toEqual({ green: 1, red: 1 });
  });

  it('a dataset where every image is unreadable', async () => {
    const dir = join(root, 'broken');
    mkdirSync(join(dir, 'red'), { recursive: true });
    writeFileSync(join(dir, 'red', 'x.jpg'), 'garbage');
    await expect(evaluateZeroShot({ members: [{ model: model(), weight: 1 }], imagefolder: dir, decodeThreads: 0 })).rejects.toThrow(/no readable images: all 1 files failed.*x\.jpg/);
  });

  it('several datasets into one .json', async () => {
    const tb = join(root, 'tb');
    mkdirSync(tb, { recursive: true });
    await expect(evaluateZeroShot({ members: [{ model: model(), weight: 1 }], suite: 'imagenet', dataRoot: tb, out: join(root, 'x.json') })).rejects.toThrow(/no ImageNet-suite dataset here/);
  });
});

describe('transparent images', () => {
  it("score the stored colours by default (OpenCLIP's convert('RGB')), the flattened ones with alpha white|black, and say which in the result", async () => {
    // Class "red" holds fully transparent red images: red under drop, white or black once flattened.
    const dir = join(root, 'alpha');
    const names = ['black', 'red', 'white'];
    for (const n of names) mkdirSync(join(dir, n), { recursive: true });
    const clear = await sharp({ create: { width: 16, height: 16, channels: 4, background: { r: 255, g: 0, b: 0, alpha: 0 } } }).png().toBuffer();
    for (const i of [0, 1]) writeFileSync(join(dir, 'red', `${i}.png`), clear);
    await writeColorPng(join(dir, 'white', '0.png'), [255, 255, 255]);
    await writeColorPng(join(dir, 'black', '0.png'), [0, 0, 0]);
    const colour: Record<string, Rgb> = { black: [0, 0, 0], red: [255, 0, 0], white: [255, 255, 255] };
    // Cosine against black's zero vector is 0: a small offset keeps every class scorable.
    const v = (rgb: Rgb) => [...rgb.map((x) => x / 255), 0.1];
    const m = stubModel({ id: 'alpha', dim: 4, classnames: names, textVector: (i) => v(colour[names[i]!]!), imageVector: v, info: { samplesSeen: 1, seed: 0, design: 'x' } });
    const perClass = async (alpha?: 'drop' | 'white' | 'black') => {
      const { results } = await evaluateZeroShot({ members: [{ model: m, weight: 1 }], imagefolder: dir, templates: 'simple', decodeThreads: 0, cache: false, alpha });
      return { red: results[0]!.per_class?.red, alpha: results[0]!.provenance?.alpha };
    };
    expect(await perClass()).toEqual({ red: 1, alpha: 'drop' });
    expect(await perClass('white')).toEqual({ red: 0, alpha: 'white' });
    expect(await perClass('black')).toEqual({ red: 0, alpha: 'black' });
  });
});
