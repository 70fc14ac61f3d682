// Retrieval and linear-probe evaluations end to end with a stub model whose answers are known: result shape
// and metric names (CLIP_benchmark's), values worked by hand, unreadable images skipped, errors named.
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stubModel, writeColorPng, type Rgb } from '../../test/support/stub-model.js';
import { evaluateLinearProbe } from './linear-probe-eval.js';
import { readResults } from './result.js';
import { evaluateRetrieval } from './retrieval-eval.js';

const COLORS: Record<string, Rgb> = { red: [255, 0, 0], green: [0, 255, 0], blue: [0, 0, 255] };
const NAMES = Object.keys(COLORS);
const vec = (rgb: Rgb) => rgb.map((v) => v / 255);
const model = () => stubModel({ id: 'stub', dim: 3, classnames: NAMES, textVector: (i) => vec(COLORS[NAMES[i]!]!), imageVector: vec, info: { samplesSeen: 10, seed: 1, design: 'colors' } });
let root: string;

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'cliplab-tasks-'));
  const imgs = join(root, 'images');
  await writeColorPng(join(imgs, 'r.png'), COLORS.red!);
  await writeColorPng(join(imgs, 'g.png'), COLORS.green!);
  await writeColorPng(join(imgs, 'b.png'), COLORS.blue!);
  mkdirSync(imgs, { recursive: true });
  writeFileSync(join(imgs, 'bad.png'), 'not an image');
  writeFileSync(join(root, 'captions_val.json'), JSON.stringify({
    images: [{ id: 1, file_name: 'r.png' }, { id: 2, file_name: 'g.png' }, { id: 3, file_name: 'b.png' }, { id: 4, file_name: 'bad.png' }],
    // The green image's captions say "blue" (wrong) and "green"; the blue image's say "red" only.
    annotations: [
      { image_id: 1, caption: 'a red square' },
      { image_id: 2, caption: 'something blue' },
      { image_id: 2, caption: 'green' },
      { image_id: 3, caption: 'red again' },
      { image_id: 4, caption: 'never seen' },
    ],
  }));
  for (const [split, per] of [['train', 6], ['test', 3]] as const)
    for (const n of NAMES) for (let i = 0; i < per; i++) {
      const c = COLORS[n]!.map((v) => Math.max(0, Math.min(255, v + ((i * 37) % 60) - 30))) as Rgb;
      await writeColorPng(join(root, 'probe', split, n, `${i}.png`), c);
    }
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe('evaluateRetrieval', () => {
  it('writes recall@k both ways under CLIP_benchmark’s names, values by hand', async () => {
    const warnings: string[] = [];
    const out = join(root, 'out', 'retrieval.json');
    const { result } = await evaluateRetrieval({ evalModel: model(), images: join(root, 'images'), captions: join(root, 'captions_val.json'), decodeThreads: 0, out, onWarning: (w) => warnings.push(w) });
    const m = result.metrics as Record<string, number>;
    // Texts → image, top-1: "a red square" → red ✓; "something blue" → blue ✗ (its image is green); "green" → green ✓;
    // "red again" → red ✗ (its image is blue). The unreadable image and its caption are dropped.
    expect(m['image_retrieval_recall@1']).toBe(0.5);
    // Image → texts, top-1: red → "a red square" (tie with "red again", lower index) ✓; green → "green" ✓;
    // blue → "something blue" (not its own) ✗.
    expect(m['text_retrieval_recall@1']).toBeCloseTo(2 / 3, 12);
    expect(m['text_retrieval_recall@5']).toBe(1);
    expect(result).toMatchObject({ task: 'zeroshot_retrieval', dataset: 'captions_val', n_images: 3, n_texts: 4, n_skipped: 1, captions_format: 'coco', model: 'stub', design: 'colors' });
    expect(JSON.parse(readFileSync(out, 'utf8')).metrics).toEqual(m);
    expect(warnings.join('\n')).toMatch(/1 of 4 images unreadable/);
    // analyze's reader skips it inside a directory (not a classification result).
    const skipped: string[] = [];
    expect(readResults([join(root, 'out')], { onSkip: (_f, why) => skipped.push(why) })).toEqual([]);
    expect(skipped).toEqual(['a zeroshot_retrieval result']);
    expect(() => readResults([out])).toThrow(/zeroshot_retrieval result/);
  });
});

describe('the testbed retrieval set', () => {
  it('one image per reference class, captioned from its concept; the stub retrieves by class name', async () => {
    const tb = join(root, 'tb');
    const concepts = NAMES.map((n, i) => ({ hexcode: `1F${i}`, dir: `1f${i}`, emoji: 'x', name: n, label: `${n} label`, group: 'Colors', subgroup: 'basic' }));
    for (const [i, n] of NAMES.entries()) {
      await writeColorPng(join(tb, 'eval', 'noto-v1', `1f${i}`, '0.png'), COLORS[n]!);
      await writeColorPng(join(tb, 'eval', 'noto-v1', `1f${i}`, '1.png'), COLORS[NAMES[(i + 1) % 3]!]!); // later views are not used
    }
    const ev = { name: 'noto-v1', iconSet: 'noto-v1', role: 'reference', kind: 'natural', full: false, dir: 'eval/noto-v1', classes: 3, viewsPerClass: 2, images: 6, sha256: 'x' };
    writeFileSync(join(tb, 'testbed.json'), JSON.stringify({
      version: 1, generator: 't', args: { imageSize: 16, misaligned: 0, seed: 0, concepts: 3, views: 1, evalViews: 2, evalViewsFull: 1, shardSize: 1 },
      packages: {}, concepts, classes: concepts.map((c) => c.hexcode), classSelection: { seed: 0, count: 3, rule: 't' }, reference: 'noto-v1', shifts: [], sources: [], eval: [ev],
    }));
    const { result } = await evaluateRetrieval({ evalModel: model(), testbed: tb, decodeThreads: 0 });
    expect(result).toMatchObject({ dataset: 'noto-v1-retrieval', n_images: 3, n_texts: 12, captions_format: 'testbed' });
    // Every caption names its colour; every image is its colour: perfect retrieval both ways (ties within a class go to its first caption).
    expect((result.metrics as Record<string, number>)['image_retrieval_recall@1']).toBe(1);
    expect((result.metrics as Record<string, number>)['text_retrieval_recall@1']).toBe(1);
  });
});

describe('evaluateLinearProbe', () => {
  it('fits the head on train features and scores test: separable colours give lp_acc1 = 1', async () => {
    const { result } = await evaluateLinearProbe({ evalModel: model(), train: join(root, 'probe', 'train'), test: join(root, 'probe', 'test'), decodeThreads: 0, valProportion: 0.25 });
    const m = result.metrics as Record<string, number>;
    expect(m.lp_acc1).toBe(1);
    expect(m.lp_mean_per_class_recall).toBe(1);
    expect(result).toMatchObject({ task: 'linear_probe', dataset: 'probe', n: 9, n_train: 18, classes: { count: 3 } });
    expect(m.weight_decay).toBeGreaterThan(0);
    expect((result.weight_decay_sweep as unknown[]).length).toBeGreaterThanOrEqual(7);
  });

  it('names a test folder that lacks a train class', async () => {
    const t = join(root, 'probe2');
    await writeColorPng(join(t, 'red', 'a.png'), COLORS.red!);
    await expect(evaluateLinearProbe({ evalModel: model(), train: join(root, 'probe', 'train'), test: t, decodeThreads: 0 })).rejects.toThrow(/missing class folders 'blue'/);
  });
});
