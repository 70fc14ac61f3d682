// ImageNet-C in the ImageNet suite: the official folder layout, one aggregate result with per-corruption and
// per-severity accuracy, means over the benchmark's corruptions only, and mCE / relative mCE against a baseline
// (values worked by hand from the stub model's known answers).
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { imagenetClassnames } from './suites.js';
import { colorIndex, indexColor, oneHot, stubModel, writeColorPng } from '../../test/support/stub-model.js';
import { aggregateImagenetC, readCorruptionBaseline } from './imagenet-c.js';
import { evaluateZeroShot } from './zeroshot-eval.js';

const names = imagenetClassnames();
const wnid = (i: number) => `n${String(i).padStart(8, '0')}`;
let root: string;
let templates: string;
let baseline: string;

const stub = () =>
  stubModel({ id: 'inet', dim: 1000, classnames: names, textVector: (i) => oneHot(1000, i), imageVector: (rgb) => oneHot(1000, colorIndex(rgb)), info: { design: 'x', seed: 0, samplesSeen: 1 } });

async function set(dir: string, images: [label: number, seenAs: number][]): Promise<void> {
  for (let i = 0; i < 1000; i++) mkdirSync(join(dir, wnid(i)), { recursive: true });
  for (const [k, [label, seen]] of images.entries()) await writeColorPng(join(dir, wnid(label), `${k}.png`), indexColor(seen));
}

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'cliplab-inetc-'));
  templates = join(root, 'templates.txt');
  writeFileSync(templates, '{}\n');
  await set(join(root, 'imagenet-1k'), [[3, 3]]); // clean: 1 of 1 right
  const c = join(root, 'imagenet-c');
  await set(join(c, 'gaussian_noise', '1'), [[1, 1], [2, 2]]); // 2/2
  await set(join(c, 'gaussian_noise', '2'), [[1, 1], [2, 5]]); // 1/2
  await set(join(c, 'contrast', '3'), [[4, 9]]); // 0/1
  await set(join(c, 'speckle_noise', '1'), [[4, 4]]); // extra corruption: 1/1, not in the means
  baseline = join(root, 'baseline.json');
  writeFileSync(baseline, JSON.stringify({ name: 'base', clean_error: 0.3, errors: { gaussian_noise: [0.5, 0.5, 0.6, 0.7, 0.8], contrast: [0.4, 0.6, 0.8, 0.9, 0.9] } }));
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe('ImageNet-C', () => {
  it('reports every (corruption, severity) set, means over the 15 benchmark corruptions, and mCE against a baseline', async () => {
    const { results, warnings } = await evaluateZeroShot({ members: [{ model: stub(), weight: 1 }], suite: 'imagenet', dataRoot: root, templates, decodeThreads: 0, mceBaseline: baseline });
    expect(results.map((r) => r.dataset)).toEqual(['imagenet-1k', 'imagenet-c']);
    const r = results[1]! as Record<string, any>;
    expect(r.n).toBe(5);
    expect(r.metrics.acc1).toBeCloseTo((1 + 0.5 + 0) / 3, 12);
    expect(r.corruptions.gaussian_noise.severities['2'].acc1).toBe(0.5);
    expect(r.corruptions.gaussian_noise.mean_acc1).toBeCloseTo(0.75, 12);
    expect(r.corruptions.speckle_noise).toMatchObject({ extra: true, mean_acc1: 1 });
    expect(r.clean_acc1).toBe(1);
    // CE: gaussian (0 + 0.5) / (0.5 + 0.5) = 0.5; contrast 1 / 0.8 = 1.25.
    expect(r.corruptions.gaussian_noise.ce).toBeCloseTo(0.5, 12);
    expect(r.corruptions.contrast.ce).toBeCloseTo(1.25, 12);
    expect(r.metrics.mCE).toBeCloseTo(0.875, 12);
    // Relative: gaussian (0 + 0.5 − 2·0) / ((0.5 − 0.3) + (0.5 − 0.3)) = 1.25; contrast (1 − 0) / (0.8 − 0.3) = 2.
    expect(r.metrics.relative_mCE).toBeCloseTo(1.625, 12);
    expect(r.missing_corruptions).toHaveLength(15);
    expect(warnings.join('\n')).toMatch(/imagenet-c: incomplete/);
    expect(r.classes).toMatchObject({ id: 'imagenet-1k', count: 1000 });
  });

  it('selects ImageNet-C alone with --datasets, one result for a .json --out', async () => {
    const { results } = await evaluateZeroShot({ members: [{ model: stub(), weight: 1 }], suite: 'imagenet', dataRoot: root, datasets: ['imagenet-c'], templates, decodeThreads: 0, out: join(root, 'out', 'c.json') });
    expect(results.map((r) => r.dataset)).toEqual(['imagenet-c']);
    expect(results[0]!.clean_acc1).toBeUndefined();
  });

  it('reads a cliplab ImageNet-C result as a baseline (errors = 1 − acc1)', async () => {
    const file = join(root, 'out', 'c.json');
    const b = readCorruptionBaseline(file);
    expect(b.errors.gaussian_noise!.slice(0, 2)).toEqual([0, 0.5]);
    expect(b.errors.gaussian_noise![2]).toBeNaN();
    const m = (acc1: number) => ({ acc1, acc5: acc1, mean_per_class_recall: acc1, mean_average_precision: acc1, n: 1 });
    // Against itself: CE 1 wherever the baseline error is positive; gaussian_noise has a zero error at severity 1 → no CE.
    const agg = aggregateImagenetC(new Map([['contrast', new Map([[3, m(0)]])], ['gaussian_noise', new Map([[1, m(1)], [2, m(0.5)]])]]), { baseline: b });
    expect(agg.metrics.mCE).toBe(1);
    expect((agg.corruptions.gaussian_noise as { ce?: number }).ce).toBeUndefined();
  });

  it('names a folder that is not a corruption or a severity', async () => {
    const bad = join(root, 'bad');
    mkdirSync(join(bad, 'imagenet-c', 'fog', '6'), { recursive: true });
    await expect(evaluateZeroShot({ members: [{ model: stub(), weight: 1 }], suite: 'imagenet', dataRoot: bad, templates })).rejects.toThrow(/fog\/6: not a severity folder/);
    const bad2 = join(root, 'bad2');
    mkdirSync(join(bad2, 'imagenet-c', 'smog', '1'), { recursive: true });
    await expect(evaluateZeroShot({ members: [{ model: stub(), weight: 1 }], suite: 'imagenet', dataRoot: bad2, templates })).rejects.toThrow(/smog: not an ImageNet-C corruption/);
  });
});
