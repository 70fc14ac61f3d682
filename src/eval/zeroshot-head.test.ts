// The zero-shot head on the golden OpenCLIP ViT-Tiny: one template "{}" over the golden captions gives OpenCLIP's
// normalized text features; several templates average the normalized embeddings and renormalize; logits are
// 100 × cosine (golden logits_per_image rescaled from the model's logit_scale to 100).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseModelConfig } from '../models/config.js';
import { ClipEncoders, normalizeRows } from '../models/encoders.js';
import { readSafetensors, toFloat32 } from '../models/safetensors.js';
import type { TemplateSet } from './templates.js';
import { zeroShotHead, type TextTower } from './zeroshot-head.js';
import { golden } from '../../test/support/golden.js';

const dir = golden('clip-vit-tiny');
const set = (templates: string[]): TemplateSet => ({ name: 'test', templates, hash: templates.join('|') });

function maxDiff(a: Float32Array, b: Float32Array): number {
  let d = 0;
  for (let i = 0; i < a.length; i++) d = Math.max(d, Math.abs(a[i]! - b[i]!));
  return d;
}

describe('zeroShotHead on the golden ViT-Tiny', () => {
  let enc: ClipEncoders;
  let tower: TextTower;
  let captions: string[];
  let golden: Map<string, Float32Array>;
  beforeAll(async () => {
    const cfg = parseModelConfig(JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8')), 'config.json');
    const weights = new Map<string, Float32Array>();
    for (const [k, t] of (await readSafetensors(join(dir, 'init.safetensors.gz'))).tensors) if (t.dtype !== 'I64') weights.set(k, toFloat32(t).data);
    enc = await ClipEncoders.create(cfg, weights, { threads: 1 });
    tower = { contextLength: cfg.text_cfg.context_length, embedDim: cfg.embed_dim, encodeTexts: (t, n) => enc.encodeTexts(t, n) };
    captions = JSON.parse(readFileSync(join(dir, 'captions.json'), 'utf8')) as string[];
    golden = new Map();
    for (const [k, t] of (await readSafetensors(join(dir, 'forward.safetensors'))).tensors) golden.set(k, toFloat32(t).data);
  });
  afterAll(async () => enc?.release());

  it('with the template "{}" is OpenCLIP’s normalized text features', async () => {
    const head = await zeroShotHead({ model: tower, classnames: captions, templates: set(['{}']), batchSize: 3 });
    expect(head.weights).toHaveLength(8 * 64);
    expect(maxDiff(head.weights, golden.get('text_features')!)).toBeLessThan(2e-4);
  });

  it('averages normalized template embeddings and renormalizes', async () => {
    const names = ['cat', 'dog', 'red sofa'];
    const t = ['a photo of a {}.', 'itap of the {}.', '{}'];
    const head = await zeroShotHead({ model: tower, classnames: names, templates: set(t) });
    const single = await Promise.all(t.map((x) => zeroShotHead({ model: tower, classnames: names, templates: set([x]) })));
    const want = new Float32Array(3 * 64);
    for (const s of single) for (let i = 0; i < want.length; i++) want[i] = want[i]! + s.weights[i]!;
    normalizeRows(want, 64);
    expect(maxDiff(head.weights, want)).toBeLessThan(1e-6);
    for (let c = 0; c < 3; c++) expect(Math.hypot(...head.weights.subarray(c * 64, (c + 1) * 64))).toBeCloseTo(1, 6);
  });

  it('gives logits = 100 × cosine (OpenCLIP logits_per_image × 100 / logit_scale)', async () => {
    const head = await zeroShotHead({ model: tower, classnames: captions, templates: set(['{}']) });
    const batch = (await readSafetensors(join(dir, 'batch.safetensors'))).tensors;
    const img = normalizeRows(await enc.encodeImages(batch.get('images')!.data as Float32Array, 8), 64);
    const scale = golden.get('logit_scale')![0]!;
    const want = golden.get('logits_per_image')!.map((v) => (v * 100) / scale);
    const got = new Float32Array(64);
    for (let i = 0; i < 8; i++) for (let c = 0; c < 8; c++) {
      let s = 0;
      for (let d = 0; d < 64; d++) s += img[i * 64 + d]! * head.weights[c * 64 + d]!;
      got[i * 8 + c] = 100 * s;
    }
    expect(maxDiff(got, want)).toBeLessThan(2e-2);
  });
});
