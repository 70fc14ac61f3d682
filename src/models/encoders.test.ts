// The inference encoders (weights as initializers, batch norm in eval mode) against OpenCLIP's eval-mode
// forward (golden forward_eval), and against the training graph's features.
import { describe, it, expect } from 'vitest';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { readSafetensors, toFloat32 } from './safetensors.js';
import { parseModelConfig } from './config.js';
import { ClipEncoders, normalizeRows } from './encoders.js';
import { GOLDEN_DIR } from '../../test/support/golden.js';

const GOLDEN = GOLDEN_DIR;

async function weightsOf(file: string): Promise<Map<string, Float32Array>> {
  const m = new Map<string, Float32Array>();
  for (const [k, t] of (await readSafetensors(file)).tensors) if (t.dtype !== 'I64') m.set(k, toFloat32(t).data);
  return m;
}

function expectClose(got: Float32Array, want: Float32Array, atol: number): void {
  let max = 0;
  for (const v of want) max = Math.max(max, Math.abs(v));
  const tol = Math.max(atol, 1e-5 * max);
  let worst = 0;
  for (let i = 0; i < want.length; i++) worst = Math.max(worst, Math.abs(got[i]! - want[i]!));
  expect(worst).toBeLessThanOrEqual(tol);
}

function logits(img: Float32Array, txt: Float32Array, n: number, d: number, scale: number): Float32Array {
  const out = new Float32Array(n * n);
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) {
    let s = 0;
    for (let k = 0; k < d; k++) s += img[i * d + k]! * txt[j * d + k]!;
    out[i * n + j] = scale * s;
  }
  return out;
}

const dir = join(GOLDEN, 'clip-rn-tiny');
describe('inference encoders', () => {
  for (const [prefix, weightsFile] of [['', 'init.safetensors.gz'], ['step1_', 'adamw_step1.safetensors.gz']] as const) {
    it(`RN-Tiny eval-mode features and logits match OpenCLIP (${prefix || 'init'} weights, running stats)`, async () => {
      const cfg = parseModelConfig(JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8')), 'config.json');
      const enc = await ClipEncoders.create(cfg, await weightsOf(join(dir, weightsFile)), { threads: 2 });
      const batch = (await readSafetensors(join(dir, 'batch.safetensors'))).tensors;
      const golden = (await readSafetensors(join(dir, 'forward_eval.safetensors'))).tensors;
      const img = normalizeRows(await enc.encodeImages(batch.get('images')!.data as Float32Array, 8), 64);
      const txt = normalizeRows(await enc.encodeTexts(batch.get('text')!.data as BigInt64Array, 8), 64);
      expectClose(img, golden.get(`${prefix}image_features`)!.data as Float32Array, 2e-4);
      expectClose(txt, golden.get(`${prefix}text_features`)!.data as Float32Array, 2e-4);
      expectClose(logits(img, txt, 8, 64, enc.logitScale), golden.get(`${prefix}logits_per_image`)!.data as Float32Array, 2e-4);
      await enc.release();
    });
  }

  it('ViT encoders give the features of the training forward (golden forward, train = eval for this ViT)', async () => {
    const vdir = join(GOLDEN, 'clip-vit-tiny');
    const cfg = parseModelConfig(JSON.parse(readFileSync(join(vdir, 'config.json'), 'utf8')), 'config.json');
    const enc = await ClipEncoders.create(cfg, await weightsOf(join(vdir, 'init.safetensors.gz')), { threads: 2 });
    const batch = (await readSafetensors(join(vdir, 'batch.safetensors'))).tensors;
    const golden = (await readSafetensors(join(vdir, 'forward.safetensors'))).tensors;
    // Odd batch sizes work: the batch dim is symbolic.
    const img = normalizeRows(await enc.encodeImages(batch.get('images')!.data as Float32Array, 5), 64);
    expectClose(img, (golden.get('image_features')!.data as Float32Array).subarray(0, 5 * 64), 5e-5);
    await enc.release();
  });
});
