// CLIP_benchmark ↔ cliplab: `cliplab analyze` reads a folder of results exactly as CLIP_benchmark's `eval` writes
// them (file names from its --output template, Python json.dump bytes, NaN acc5, its dataset names, retrieval
// results beside them), saying which study fields it had to assume; and cliplab's own result files go through
// CLIP_benchmark's `build` step (its cli.py main_build, re-run in Python below) into its CSV.
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { analyze } from '../../src/analysis/analyze.js';
import { readDesignMap } from '../../src/eval/clip-benchmark.js';
import { readResults } from '../../src/eval/result.js';
import { evaluateZeroShot } from '../../src/eval/zeroshot-eval.js';
import { describeWith } from '../support/external.js';
import { stubModel, writeColorPng, type Rgb } from '../support/stub-model.js';
import { pythonModules } from '../support/tools.js';

const root = mkdtempSync(join(tmpdir(), 'cliplab-cb-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const MODELS = [
  ['RN50', 'openai', 0.6],
  ['RN50', 'yfcc15m', 0.32],
  ['RN50', 'cc12m', 0.36],
  ['ViT-B-32', 'laion400m_e31', 0.6],
  ['ViT-B-32', 'laion400m_e32', 0.62],
  ['ViT-B-32', 'laion2b_s34b_b79k', 0.66],
  ['ViT-B-16', 'laion2b_s34b_b88k', 0.7],
] as const;
const SHIFTS: [string, number, number][] = [
  // CLIP_benchmark name, slope and intercept of the accuracy on the shift against ImageNet's
  ['imagenetv2', 0.9, -0.02],
  ['imagenet_sketch', 0.8, -0.1],
  ['imagenet-r', 1.1, -0.05],
  ['imagenet-a', 0.7, -0.15],
  ['objectnet', 0.8, -0.08],
];

/** One file as CLIP_benchmark's run() dumps it, named by its default --output template. */
function writeCb(dir: string, dataset: string, model: string, pretrained: string, task: string, metrics: string): void {
  const name = `${dataset.replace('/', '_')}_${pretrained}_${model}_en_${task}.json`;
  writeFileSync(join(dir, name), `{"dataset": "${dataset}", "model": "${model}", "pretrained": "${pretrained}", "task": "${task}", "metrics": ${metrics}, "language": "en"}`);
}

let cbDir: string;
beforeAll(() => {
  cbDir = join(root, 'clip_benchmark');
  mkdirSync(cbDir);
  for (const [model, pretrained, acc] of MODELS) {
    const m = (a: number, acc5: string) => `{"acc1": ${a}, "acc5": ${acc5}, "mean_per_class_recall": ${a}}`;
    writeCb(cbDir, 'wds/imagenet1k', model, pretrained, 'zeroshot_classification', m(acc, String(Math.min(acc + 0.25, 0.99))));
    SHIFTS.forEach(([ds, a, b], i) => writeCb(cbDir, ds, model, pretrained, 'zeroshot_classification', m(+(a * acc + b + 0.01 * (i % 2)).toFixed(4), '0.7')));
    // Below five classes CLIP_benchmark writes acc5 as NaN; a retrieval result sits beside the others.
    writeCb(cbDir, 'pcam', model, pretrained, 'zeroshot_classification', m(0.5, 'NaN'));
    writeCb(cbDir, 'mscoco_captions', model, pretrained, 'zeroshot_retrieval', '{"image_retrieval_recall@5": 0.5, "text_retrieval_recall@5": 0.6}');
  }
});

describe("cliplab analyze on CLIP_benchmark's own result files", () => {
  it('reads them all (NaN included), maps the dataset names, picks ImageNet as the reference and says what it assumed', () => {
    const skipped: string[] = [];
    const results = readResults([cbDir], { onSkip: (f, why) => skipped.push(`${f.split('/').pop()}: ${why}`) });
    expect(results).toHaveLength(MODELS.length * 7);
    expect(skipped).toHaveLength(MODELS.length);
    expect(skipped[0]).toMatch(/mscoco_captions_.*: a zeroshot_retrieval result/);
    const pcam = results.find((r) => r.result.dataset === 'pcam')!;
    expect(pcam.result.metrics.acc5).toBeNull();
    const r = analyze(results, { resamples: 50 });
    expect(r.reference).toBe('imagenet-1k');
    expect(r.shifts).toEqual(['imagenet-a', 'imagenet-r', 'imagenet-sketch', 'imagenetv2', 'objectnet', 'pcam']);
    expect(new Set(r.models.map((m) => m.model))).toEqual(new Set(MODELS.map(([m, p]) => `${m} ${p}`)));
    expect(r.baseline.source).toBe('pooled');
    const ref = r.models.find((m) => m.model === 'RN50 openai' && m.dataset === 'imagenet-sketch')!;
    expect(ref).toMatchObject({ design: 'RN50 openai', nReference: 50000, nShift: 50889, accReference: 0.6 });
    expect(ref.effectiveRobustness).not.toBeNull();
    expect(r.warnings).toEqual(
      expect.arrayContaining([
        '49 results name no design: each of their models is its own design (group them with --design-map FILE)',
        expect.stringMatching(/^49 results give no n \(evaluation examples\): assumed the test-set size, imagenet-1k 50000, imagenet-a 7500, .*pcam 10000 \(unknown set\)/),
        '49 results give no seed: 0 assumed',
        expect.stringMatching(/^size scaling leaves out 7 models with no samples_seen or design_info\.size: RN50 cc12m, RN50 openai/),
      ]),
    );
    expect(r.sizeScaling).toEqual([]);
  });

  it('groups models into designs and sizes from --design-map, so lines and size scaling can be fit', () => {
    const map = join(root, 'designs.json');
    const laion = (samples: number) => ({ design: 'laion', samples_seen: samples });
    writeFileSync(map, JSON.stringify({ laion400m_e31: laion(12.8e9), laion400m_e32: laion(13.2e9), laion2b_s34b_b79k: laion(34e9), 'ViT-B-16 laion2b_s34b_b88k': laion(34.5e9), openai: 'openai', yfcc15m: 'yfcc', cc12m: 'cc12m' }));
    const results = readResults([cbDir], { designMap: readDesignMap(map) });
    const r = analyze(results, { resamples: 50, reference: 'imagenet1k' });
    expect(r.reference).toBe('imagenet-1k');
    expect([...new Set(r.designs.map((d) => d.design))].sort()).toEqual(['cc12m', 'laion', 'openai', 'yfcc']);
    expect(r.lines.filter((l) => l.design === 'laion').map((l) => l.n)).toEqual(Array(7).fill(4));
    expect(r.warnings.join('\n')).not.toMatch(/name no design/);
    expect([...new Set(r.sizeScaling.map((s) => s.design))]).toEqual(['laion']);
    expect(r.warnings).toEqual(expect.arrayContaining([expect.stringMatching(/^size scaling leaves out 3 models .*: RN50 cc12m, RN50 openai, RN50 yfcc15m$/)]));
  });
});

describe('cliplab analyze --design-map at the command line', () => {
  it('writes the mapped designs into robustness.json (model id before pretrained before architecture) and names the unused keys', () => {
    const map = join(root, 'designs.yaml');
    writeFileSync(map, [
      '"RN50 openai": openai',
      'yfcc15m: yfcc',
      'cc12m: {design: cc12m, samples_seen: 12000000000, seed: 2}',
      'laion400m_e31: {design: laion, samples_seen: 12800000000}',
      'laion400m_e32: {design: laion, samples_seen: 13200000000}',
      'laion2b_s34b_b79k: {design: laion, samples_seen: 34000000000}',
      'ViT-B-16: laion-b16',
      'RN50: rn50-arch',
      'nothing_matches: x',
      '',
    ].join('\n'));
    const out = join(root, 'cli-analysis');
    const repo = fileURLToPath(new URL('../../', import.meta.url));
    const r = spawnSync(process.execPath, [join(repo, 'bin', 'cliplab.js'), 'analyze', cbDir, '--out', out, '--design-map', map, '--resamples', '20', '--no-png'], { encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).toContain(`${map}: no result matched RN50, nothing_matches`);
    const written = JSON.parse(readFileSync(join(out, 'robustness.json'), 'utf8')) as { models: { model: string; design: string }[]; designs: { design: string }[]; warnings: string[] };
    const want: Record<string, string> = {
      'RN50 openai': 'openai', 'RN50 yfcc15m': 'yfcc', 'RN50 cc12m': 'cc12m', 'ViT-B-32 laion400m_e31': 'laion', 'ViT-B-32 laion400m_e32': 'laion',
      'ViT-B-32 laion2b_s34b_b79k': 'laion', 'ViT-B-16 laion2b_s34b_b88k': 'laion-b16',
    };
    expect(Object.fromEntries(written.models.map((m) => [m.model, m.design]))).toEqual(want);
    expect(written.models).toHaveLength(MODELS.length * 7); // 6 shifts (pcam included) and their average each
    expect([...new Set(written.designs.map((d) => d.design))].sort()).toEqual(['cc12m', 'laion', 'laion-b16', 'openai', 'yfcc']);
    expect(written.warnings.join('\n')).not.toMatch(/name no design/);
    // The map's seed replaces the assumed 0 for cc12m's 7 results only.
    expect(written.warnings).toContain('42 results give no seed: 0 assumed');
    // samples_seen came from the map for the four laion models and cc12m; the other three are left out of size scaling.
    expect(written.warnings.find((w) => w.startsWith('size scaling leaves out'))).toMatch(/^size scaling leaves out 3 models .*: ViT-B-16 laion2b_s34b_b88k, RN50 openai, RN50 yfcc15m$/);
  });
});

const COLORS: Record<string, Rgb> = { blue: [0, 0, 255], green: [0, 255, 0], red: [255, 0, 0] };
const python = pythonModules('python3', ['csv', 'json']);
const build = fileURLToPath(new URL('./clip_benchmark_build.py', import.meta.url));

describeWith(python, "cliplab's result files through CLIP_benchmark's build step", () => {
  it('become rows of its CSV, with the model_fullname it derives and our metrics as columns', async () => {
    const folder = join(root, 'colors');
    for (const [dir, c] of Object.entries(COLORS)) await writeColorPng(join(folder, dir, '0.png'), c);
    const names = Object.keys(COLORS).sort();
    const model = stubModel({ id: 'stub', dim: 3, classnames: names, textVector: (i) => COLORS[names[i]!]!.map((v) => v / 255), imageVector: (rgb) => rgb.map((v) => v / 255), info: { samplesSeen: 1000, seed: 3, design: 'colors', file: '/runs/colors/model.safetensors' } });
    const out = join(root, 'ours');
    await evaluateZeroShot({ members: [{ model, weight: 1 }], imagefolder: folder, templates: 'simple', decodeThreads: 0, out: join(out, 'colors.json'), modelId: 'colors-s1' });
    const csv = join(root, 'benchmark.csv');
    const r = spawnSync('python3', [build, '--output', csv, out], { encoding: 'utf8' });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const rows = JSON.parse(r.stdout) as Record<string, string>[];
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ model_fullname: 'colors-s1 /runs/colors/model.safetensors', dataset: 'colors', task: 'zeroshot_classification', language: 'en', n: '3' });
    expect(Number(rows[0]!.acc1)).toBe(1);
    expect(readFileSync(csv, 'utf8').split('\n')[0]).toContain('model_fullname');
  });
});
