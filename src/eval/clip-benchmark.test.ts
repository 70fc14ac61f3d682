// CLIP_benchmark's results as it writes them: Python json.dump's NaN, its dataset names, and the study fields it
// lacks filled from a design map or defaults that are recorded.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { canonicalDataset } from './dataset-names.js';
import { normalizeResult, parsePythonJson, readDesignMap } from './clip-benchmark.js';

/** CLIP_benchmark's dump for one run (cli.py `run`), as json.dump writes it: ", " and ": " separators. */
const cbDump = (dataset: string, pretrained: string, acc1: number, acc5: string) =>
  `{"dataset": "${dataset}", "model": "ViT-B-32", "pretrained": "${pretrained}", "task": "zeroshot_classification", "metrics": {"acc1": ${acc1}, "acc5": ${acc5}, "mean_per_class_recall": ${acc1}}, "language": "en"}`;

describe('parsePythonJson', () => {
  it("reads json.dump's NaN, Infinity and -Infinity, and leaves those words inside strings alone", () => {
    expect(() => JSON.parse(cbDump('cifar10', 'openai', 0.5, 'NaN'))).toThrow();
    const v = parsePythonJson(cbDump('cifar10', 'openai', 0.5, 'NaN')) as { metrics: { acc5: number } };
    expect(v.metrics.acc5).toBeNaN();
    expect(parsePythonJson('[Infinity, -Infinity, "NaN and \\"Infinity\\"", 1e-5]')).toEqual([Infinity, -Infinity, 'NaN and "Infinity"', 1e-5]);
    expect(parsePythonJson('{"a": "x"}')).toEqual({ a: 'x' });
  });
});

describe('CLIP_benchmark dataset names', () => {
  it('map to cliplab names, with or without the wds/ prefix', () => {
    expect(['imagenet1k', 'wds/imagenet1k', 'imagenet_sketch', 'wds/imagenet_sketch', 'imagenetv2', 'imagenet-r', 'imagenet-a', 'objectnet', 'noto-v1'].map(canonicalDataset)).toEqual([
      'imagenet-1k', 'imagenet-1k', 'imagenet-sketch', 'imagenet-sketch', 'imagenetv2', 'imagenet-r', 'imagenet-a', 'objectnet', 'noto-v1',
    ]);
  });
});

describe('normalizeResult', () => {
  it('fills the study fields of a CLIP_benchmark result, recording each default', () => {
    const { value, defaulted } = normalizeResult(parsePythonJson(cbDump('wds/imagenet_sketch', 'laion2b_s34b_b79k', 0.56, 'NaN')));
    expect(value).toMatchObject({
      model: 'ViT-B-32 laion2b_s34b_b79k',
      design: 'ViT-B-32 laion2b_s34b_b79k',
      dataset: 'imagenet-sketch',
      n: 50889,
      samples_seen: null,
      seed: 0,
      metrics: { acc1: 0.56, acc5: null },
    });
    expect(defaulted).toEqual(['design', 'n', 'samples_seen', 'seed']);
  });

  it('takes design, design_info, samples_seen and seed from the design map (model id, then pretrained, then model)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'cliplab-cb-'));
    const file = join(dir, 'designs.yaml');
    writeFileSync(file, 'laion2b_s34b_b79k: {design: laion, samples_seen: 34000000000, seed: 1}\n"ViT-B-32 openai": openai\nunused: x\n');
    const map = readDesignMap(file);
    const a = normalizeResult(parsePythonJson(cbDump('imagenet1k', 'laion2b_s34b_b79k', 0.66, '0.9')), map);
    expect(a.value).toMatchObject({ model: 'ViT-B-32 laion2b_s34b_b79k', design: 'laion', samples_seen: 34e9, seed: 1, n: 50000 });
    expect(a.defaulted).toEqual(['n']);
    const b = normalizeResult(parsePythonJson(cbDump('imagenet1k', 'openai', 0.63, '0.88')), map);
    expect(b.value).toMatchObject({ design: 'openai', samples_seen: null, seed: 0 });
    expect(b.defaulted).toEqual(['n', 'samples_seen', 'seed']);
    expect([...map.used].sort()).toEqual(['ViT-B-32 openai', 'laion2b_s34b_b79k']);
    writeFileSync(file, 'x: {design: laion, size: 3}\n');
    expect(() => readDesignMap(file)).toThrow(/designs\.yaml: x: expected a design name or \{design, design_info, samples_seen, seed\}/);
  });

  it('leaves a cliplab result as it is, but for dataset names', () => {
    const ours = { model: 'm', design: 'd', dataset: 'imagenet1k', metrics: { acc1: 0.5, acc5: 0.7, mean_per_class_recall: 0.5 }, n: 10, samples_seen: 5, seed: 2 };
    expect(normalizeResult(ours)).toEqual({ value: { ...ours, dataset: 'imagenet-1k' }, defaulted: [] });
  });
});
