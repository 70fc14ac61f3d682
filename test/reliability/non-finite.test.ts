// A result is never better than the data supports: a model with NaN or infinite weights (any dtype), or with
// float weights relabelled as integers, is refused by eval, export and train --init/--resume with an error
// naming the tensor; non-finite image or text features and logits are errors naming the dataset.
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { initClip, stateDictShapes } from '../../src/models/clip.js';
import { loadModelConfig } from '../../src/models/config.js';
import { writeCheckpoint } from '../../src/models/checkpoint.js';
import { loadClipModel } from '../../src/models/load.js';
import { readSafetensors, writeSafetensors, type NamedTensor } from '../../src/models/safetensors.js';
import { evaluateZeroShot } from '../../src/eval/zeroshot-eval.js';
import { evaluateRetrieval } from '../../src/eval/retrieval-eval.js';
import { evaluateLinearProbe } from '../../src/eval/linear-probe-eval.js';
import { evaluateMultiLabel } from '../../src/eval/multilabel.js';
import { classificationMetrics } from '../../src/eval/metrics.js';
import { stubModel, writeColorPng } from '../support/stub-model.js';
import { trainClip } from '../../src/train/loop.js';
import { ShardWriter } from '../../src/data/shards/writer.js';
import { syntheticSample } from '../../src/data/shards/synthetic.js';

const repo = fileURLToPath(new URL('../../', import.meta.url));
const MODEL = 'ViT-Nano-8-32';
const root = mkdtempSync(join(tmpdir(), 'cliplab-nonfinite-'));
const good = join(root, 'good');
const folder = join(root, 'folder');
const data = join(root, 'data');

/** A copy of the good checkpoint with `edit` applied to its tensors. */
async function variant(name: string, edit: (t: Map<string, NamedTensor>) => void): Promise<string> {
  const dir = join(root, name);
  cpSync(good, dir, { recursive: true });
  const f = await readSafetensors(join(dir, 'model.safetensors'));
  edit(f.tensors);
  await writeSafetensors(join(dir, 'model.safetensors'), f.tensors, f.metadata);
  return dir;
}
const f32 = (t: Map<string, NamedTensor>, k: string): Float32Array => t.get(k)!.data as Float32Array;

let broken: Record<string, [string, RegExp]>;

beforeAll(async () => {
  const cfg = loadModelConfig(MODEL);
  const values = initClip(cfg, 0);
  const tensors = new Map<string, NamedTensor>();
  for (const [k, shape] of stateDictShapes(cfg)) tensors.set(k, { dtype: 'F32', shape, data: values.get(k)! });
  await writeCheckpoint(good, tensors, cfg);
  for (const [c, rgb] of [['red', [255, 0, 0]], ['blue', [0, 0, 255]]] as const) for (let i = 0; i < 2; i++) await writeColorPng(join(folder, c, `${i}.png`), [...rgb], 32);
  const w = new ShardWriter({ dir: data, shardSize: 16 });
  for (let i = 0; i < 16; i++) await w.write(await syntheticSample(i, { size: 32 }));
  await w.close();
  const half = (t: Map<string, NamedTensor>, k: string, bits: number) => {
    const x = t.get(k)!;
    const u = new Uint16Array(x.data.length).fill(0x3c00);
    u[7] = bits;
    t.set(k, { dtype: 'F16', shape: x.shape, data: u });
  };
  broken = {
    allNaN: [await variant('all-nan', (t) => f32(t, 'token_embedding.weight').fill(NaN)), /tensor 'token_embedding\.weight' holds NaN at element 0 \(([\d,]+) of \1 values are not finite\)/],
    oneInf: [await variant('one-inf', (t) => (f32(t, 'visual.conv1.weight')[5] = Infinity)), /tensor 'visual\.conv1\.weight' holds Infinity at element 5 \(1 of/],
    f16NaN: [await variant('f16-nan', (t) => half(t, 'ln_final.weight', 0x7e00)), /tensor 'ln_final\.weight' holds NaN at element 7/],
    bf16Inf: [await variant('bf16-inf', (t) => {
      const x = t.get('ln_final.bias')!;
      const u = new Uint16Array(x.data.length);
      u[2] = 0xff80; // -Infinity
      t.set('ln_final.bias', { dtype: 'BF16', shape: x.shape, data: u });
    }), /tensor 'ln_final\.bias' holds -Infinity at element 2/],
    f64Overflow: [await variant('f64-overflow', (t) => {
      const x = t.get('logit_scale')!;
      t.set('logit_scale', { dtype: 'F64', shape: x.shape, data: Float64Array.of(1e300) });
    }), /tensor 'logit_scale' holds Infinity at element 0/],
    relabelled: [await variant('relabelled', (t) => {
      const x = t.get('positional_embedding')!;
      t.set('positional_embedding', { dtype: 'I32', shape: x.shape, data: new Int32Array((x.data as Float32Array).buffer) });
    }), /tensor 'positional_embedding' has dtype I32; a floating-point tensor is expected here/],
  };
}, 120_000);

describe('broken weights are refused, naming the tensor', () => {
  it('loading for eval or export', async () => {
    await expect(loadClipModel(good)).resolves.toBeDefined();
    for (const [name, [dir, msg]] of Object.entries(broken)) await expect(loadClipModel(dir), name).rejects.toThrow(msg);
  });

  it('eval does not score a NaN model 100% (it refuses, writes nothing)', async () => {
    const out = join(root, 'eval-out');
    for (const [name, [dir, msg]] of Object.entries(broken))
      await expect(evaluateZeroShot({ model: dir, imagefolder: folder, out, decodeThreads: 0, threads: 1, cache: false }), name).rejects.toThrow(msg);
    expect(existsSync(out) ? readdirSync(out) : []).toEqual([]);
  });

  it('the CLI: eval and export onnx print one line naming the tensor and exit 1', () => {
    const [dir, msg] = broken.allNaN!;
    for (const args of [['eval', '--model', dir, '--imagefolder', folder, '--out', join(root, 'cli-eval')], ['export', 'onnx', '--model', dir, '--out', join(root, 'cli-onnx')]]) {
      const r = spawnSync(process.execPath, ['bin/cliplab.js', ...args], { cwd: repo, encoding: 'utf8' });
      expect(r.status, r.stderr).toBe(1);
      const lines = r.stderr.split('\n').filter((l) => l.startsWith('cliplab: '));
      expect(lines).toHaveLength(1);
      expect(lines[0]).toMatch(msg);
    }
    expect(existsSync(join(root, 'cli-onnx'))).toBe(false);
  });

  it('train --init (with and without --model) blames the tensor, not the learning rate', async () => {
    const [dir, msg] = broken.oneInf!;
    for (const model of [MODEL, undefined]) {
      const err = await trainClip({ data: [data], init: dir, model, out: join(root, `train-${model ?? 'cfg'}`), batchSize: 8, epochs: 1, threads: 1 }).catch((e: Error) => e);
      expect(err).toBeInstanceOf(Error);
      expect((err as Error).message).toMatch(msg);
      expect((err as Error).message).not.toMatch(/--lr/);
    }
  });

  it('train --resume refuses a checkpoint whose optimizer state is not finite', async () => {
    const out = join(root, 'resume');
    const o = { data: [data], model: MODEL, out, batchSize: 8, epochs: 2, threads: 1 };
    await trainClip({ ...o, stopAfterStep: 1 });
    const ck = join(out, 'checkpoints', 'latest.safetensors');
    const f = await readSafetensors(ck);
    const key = [...f.tensors.keys()].find((k) => k.startsWith('adamw.v.'))!;
    (f.tensors.get(key)!.data as Float32Array)[0] = NaN;
    await writeSafetensors(ck, f.tensors, f.metadata);
    await expect(trainClip({ ...o, resume: true })).rejects.toThrow(new RegExp(`tensor '${key.replace(/\./g, '\\.')}' holds NaN at element 0`));
  });
});

describe('non-finite features and logits are errors naming the dataset', () => {
  const NAMES = ['blue', 'red'];
  const stub = (image: (rgb: number[]) => number[], text: (i: number) => number[] = (i) => (i === 0 ? [0, 0, 1] : [1, 0, 0])) =>
    stubModel({ id: 'stub', dim: 3, classnames: NAMES, imageSize: 32, textVector: text, imageVector: image });

  it('NaN or overflowing image features', async () => {
    for (const v of [NaN, 1e39]) {
      const m = stub((rgb) => [rgb[0]! / 255, v, rgb[2]! / 255]);
      await expect(evaluateZeroShot({ members: [{ model: m, weight: 1 }], imagefolder: folder, decodeThreads: 0, templates: 'simple' })).rejects.toThrow(
        /^folder: model stub: image features are not finite \((NaN|Infinity) at element 1 .*first image .*\/blue\/0\.png\): the model is broken$/,
      );
    }
  });

  it('NaN text features', async () => {
    const m = stub((rgb) => [rgb[0]! / 255, 0, rgb[2]! / 255], () => [NaN, 0, 0]);
    await expect(evaluateZeroShot({ members: [{ model: m, weight: 1 }], imagefolder: folder, decodeThreads: 0, templates: 'simple' })).rejects.toThrow(
      /^folder: model stub: text features are not finite \(NaN at element 0 .*first text "itap of a blue\."\): the model is broken$/,
    );
  });

  // Retrieval, the linear probe and multi-label AP share the feature step; each would otherwise score a NaN
  // model (recall 1.0, a RangeError naming nothing, an mAP).
  const nanImage = (rgb: number[]) => [NaN, 0, rgb[2]! / 255];
  const firstImage = String.raw`first image .*/blue/0\.png\): the model is broken$`;

  it('retrieval: NaN image or text features', async () => {
    const captions = join(root, 'captions_nan.json');
    writeFileSync(captions, JSON.stringify({
      images: [{ id: 1, file_name: 'blue/0.png' }, { id: 2, file_name: 'red/0.png' }],
      annotations: [{ image_id: 1, caption: 'blue' }, { image_id: 2, caption: 'red' }],
    }));
    const o = { images: folder, captions, decodeThreads: 0 };
    await expect(evaluateRetrieval({ ...o, evalModel: stub(nanImage) })).rejects.toThrow(
      new RegExp(String.raw`^captions_nan: model stub: image features are not finite \(NaN at element 0 \(2 of 6 values are not finite\); ${firstImage}`),
    );
    await expect(evaluateRetrieval({ ...o, evalModel: stub((rgb) => [rgb[0]! / 255, 0, rgb[2]! / 255], () => [0, Infinity, 0]) })).rejects.toThrow(
      /^captions_nan: model stub: text features are not finite \(Infinity at element 1 .*first text "blue"\): the model is broken$/,
    );
  });

  it('linear probe: NaN image features name the folder, not a RangeError', async () => {
    await expect(evaluateLinearProbe({ evalModel: stub(nanImage), train: folder, test: folder, decodeThreads: 0 })).rejects.toThrow(
      new RegExp(String.raw`^\S*/folder: model stub: image features are not finite \(NaN at element 0 .*${firstImage}`),
    );
  });

  it('multi-label: NaN image features', async () => {
    const set = { name: 'nan-voc', classnames: NAMES, files: [join(folder, 'blue', '0.png'), join(folder, 'red', '0.png')], targets: Uint8Array.of(1, 0, 0, 1) };
    await expect(evaluateMultiLabel({ evalModel: stub(nanImage), set, decodeThreads: 0 })).rejects.toThrow(
      new RegExp(String.raw`^nan-voc: model stub: image features are not finite \(NaN at element 0 .*${firstImage}`),
    );
  });

  it('metrics refuse NaN logits instead of ranking the true class first', () => {
    expect(() => classificationMetrics(Float32Array.of(NaN, NaN, NaN, NaN), [0, 1], 2)).toThrow(/logit NaN in row 0/);
  });
});
