// The ImageNet suite on fixtures with the real class lists: ImageNet-R/-A 200-class subsets, the ObjectNet
// mapping (max over each class's ImageNet columns, 2-pixel border crop), reference accuracy on each subset.
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { assetPath } from '../util/assets.js';
import { colorIndex, indexColor, oneHot, stubModel, writeColorPng } from '../../test/support/stub-model.js';
import { imagenetClassnames, imagenetSubsetClasses, imagenetSuite, objectnetClasses } from './suites.js';
import { evaluateZeroShot } from './zeroshot-eval.js';
import { golden } from '../../test/support/golden.js';

const GOLDEN = golden('zeroshot');
const names = imagenetClassnames();
const rFile = JSON.parse(readFileSync(assetPath('zeroshot', 'imagenet_r_indices.json'), 'utf8')) as { indices: number[]; wnids: string[] };
let root: string;
let templates: string;

const stub = () =>
  stubModel({ id: 'inet', dim: 1000, classnames: names, textVector: (i) => oneHot(1000, i), imageVector: (rgb) => oneHot(1000, colorIndex(rgb)), info: { design: 'x', seed: 0, samplesSeen: 1 } });

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'cliplab-inet-'));
  templates = join(root, 'templates.txt');
  writeFileSync(templates, '{}\n');
  const inet = join(root, 'imagenet-1k');
  for (let i = 0; i < 1000; i++) mkdirSync(join(inet, String(i)), { recursive: true });
  await writeColorPng(join(inet, '0', 'a.png'), indexColor(0)); // tench: right; in neither subset
  await writeColorPng(join(inet, '1', 'a.png'), indexColor(1)); // goldfish: right; in R
  await writeColorPng(join(inet, '2', 'a.png'), indexColor(2)); // great white shark: right; in R
  await writeColorPng(join(inet, '409', 'a.png'), indexColor(530)); // analog clock seen as 530: wrong of 1000, right as ObjectNet "Alarm clock"
  const r = join(root, 'imagenet-r');
  for (const w of rFile.wnids) mkdirSync(join(r, w), { recursive: true });
  // Goldfish folder, image of ImageNet class 0 (outside R): all 200 subset logits tie at 0 → subset class 0 = goldfish, right.
  await writeColorPng(join(r, rFile.wnids[0]!, 'a.png'), indexColor(0));
  await writeColorPng(join(r, rFile.wnids[1]!, 'a.png'), indexColor(rFile.indices[1]!)); // right
  await writeColorPng(join(r, rFile.wnids[2]!, 'a.png'), indexColor(rFile.indices[5]!)); // wrong
  const on = join(root, 'objectnet');
  for (const c of objectnetClasses()) mkdirSync(join(on, c.dir), { recursive: true });
  await writeColorPng(join(on, 'alarm_clock', 'a.png'), indexColor(530), 16, 2); // max over [409, 530] → right
  await writeColorPng(join(on, 'banana', 'a.png'), indexColor(409), 16, 2); // → alarm clock, wrong
  await writeColorPng(join(on, 'banana', 'b.png'), indexColor(954), 16, 2, [255, 0, 0]); // right only if the red frame is cut off
  await writeColorPng(join(on, 'squeegee', 'a.png'), indexColor(954)); // unmapped folder: not evaluated
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe('class subsets from the real lists', () => {
  it('ImageNet-R and -A: 200 wnid folders → their ImageNet columns, names from the 1000', () => {
    for (const w of ['r', 'a'] as const) {
      const golden = JSON.parse(readFileSync(join(GOLDEN, `imagenet_${w}_indices.json`), 'utf8')) as { indices: number[]; wnids: string[]; classnames: string[] };
      const cls = imagenetSubsetClasses(w);
      expect(cls).toHaveLength(200);
      expect(cls.map((c) => c.columns[0])).toEqual(golden.indices);
      expect(cls.map((c) => c.dir)).toEqual([...golden.wnids].sort());
      expect(cls.map((c) => c.name)).toEqual(golden.classnames);
    }
  });

  it('ObjectNet: 113 classes over 125 distinct ImageNet columns', () => {
    const cls = objectnetClasses();
    const golden = JSON.parse(readFileSync(join(GOLDEN, 'objectnet_mapping.json'), 'utf8')) as { imagenet_class_sublist: number[] };
    expect(cls).toHaveLength(113);
    const cols = cls.flatMap((c) => c.columns);
    expect(new Set(cols).size).toBe(cols.length);
    expect([...cols].sort((a, b) => a - b)).toEqual(golden.imagenet_class_sublist);
    expect(cls.find((c) => c.dir === 'alarm_clock')).toMatchObject({ name: 'Alarm clock', columns: [409, 530] });
  });

  it('finds the sets present under the data root, ObjectNet with a 2-pixel border crop', () => {
    const specs = imagenetSuite({ dataRoot: root });
    expect(specs.map((s) => [s.name, s.classes.length, s.borderCrop, s.reference])).toEqual([
      ['imagenet-1k', 1000, 0, true],
      ['imagenet-r', 200, 0, false],
      ['objectnet', 113, 2, false],
    ]);
  });
});

describe('imagenet suite evaluation', () => {
  it('scores R over its 200 columns, ObjectNet by max over mapped columns, and the reference on each subset', async () => {
    const { results } = await evaluateZeroShot({ members: [{ model: stub(), weight: 1 }], suite: 'imagenet', dataRoot: root, templates, decodeThreads: 0 });
    const by = Object.fromEntries(results.map((r) => [r.dataset, r]));
    expect(Object.keys(by).sort()).toEqual(['imagenet-1k', 'imagenet-r', 'objectnet']);
    expect(by['imagenet-1k']!.metrics.acc1).toBeCloseTo(3 / 4, 12);
    expect(by['imagenet-1k']!.reference).toBe(true);
    expect(by['imagenet-r']!.metrics.acc1).toBeCloseTo(2 / 3, 12);
    expect(by['imagenet-r']!.classes).toMatchObject({ id: 'imagenet-r-200', count: 200 });
    expect(by['imagenet-r']!.reference_subset).toMatchObject({ dataset: 'imagenet-1k', classes: 'imagenet-r-200', n: 2, metrics: { acc1: 1 } });
    expect(by.objectnet!.metrics.acc1).toBeCloseTo(2 / 3, 12);
    expect(by.objectnet!.n).toBe(3);
    expect(by.objectnet!.ignored_folders).toBe(1);
    expect(by.objectnet!.per_class).toEqual({ 'Alarm clock': 1, Banana: 0.5 });
    expect(by.objectnet!.reference_subset).toMatchObject({ dataset: 'imagenet-1k', classes: 'objectnet-113', n: 1, metrics: { acc1: 1 } });
  });

  it('names a missing ImageNet-R class folder', async () => {
    const broken = join(root, 'broken');
    mkdirSync(join(broken, 'imagenet-r'), { recursive: true });
    for (const w of rFile.wnids.slice(1)) mkdirSync(join(broken, 'imagenet-r', w), { recursive: true });
    await expect(evaluateZeroShot({ members: [{ model: stub(), weight: 1 }], suite: 'imagenet', dataRoot: broken, templates })).rejects.toThrow(
      new RegExp(`missing class folder '${rFile.wnids[0]}' \\(goldfish\\)`),
    );
  });

  it('rejects an unknown dataset and a partial 1000-class layout', () => {
    expect(() => imagenetSuite({ dataRoot: root, datasets: ['imagenet-z'] })).toThrow(/unknown ImageNet-suite dataset 'imagenet-z'/);
    const part = join(root, 'part');
    mkdirSync(join(part, 'imagenetv2', '0'), { recursive: true });
    expect(() => imagenetSuite({ dataRoot: part })).toThrow(/missing class folders '1' \(goldfish\)/);
  });
});
