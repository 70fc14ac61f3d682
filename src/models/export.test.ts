// Exported encoders load in plain onnxruntime and give OpenCLIP's embeddings (the training graph's, by the golden data).
import { describe, it, expect } from 'vitest';
import { mkdtempSync, copyFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { spawnSync } from 'node:child_process';
import ort from 'onnxruntime-node';
import { readSafetensors } from './safetensors.js';
import { golden } from '../../test/support/golden.js';

const GOLDEN = golden('clip-vit-tiny');
const BIN = fileURLToPath(new URL('../../bin/cliplab.js', import.meta.url));

function normalized(x: Float32Array, d: number): Float32Array {
  const out = new Float32Array(x.length);
  for (let i = 0; i < x.length; i += d) {
    let s = 0;
    for (let j = 0; j < d; j++) s += x[i + j]! ** 2;
    for (let j = 0; j < d; j++) out[i + j] = x[i + j]! / Math.sqrt(s);
  }
  return out;
}

describe('cliplab export onnx', () => {
  it('writes encoders that plain onnxruntime runs to the golden features', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'cliplab-export-'));
    try {
      copyFileSync(join(GOLDEN, 'init.safetensors.gz'), join(dir, 'model.safetensors.gz'));
      copyFileSync(join(GOLDEN, 'config.json'), join(dir, 'config.json'));
      const r = spawnSync(process.execPath, [BIN, 'export', 'onnx', '--model', join(dir, 'model.safetensors.gz'), '--out', join(dir, 'onnx'), '--json'], { encoding: 'utf8' });
      expect(r.stderr).toBe('');
      expect(r.status).toBe(0);
      const files = JSON.parse(r.stdout) as { image: string; text: string };
      const batch = (await readSafetensors(join(GOLDEN, 'batch.safetensors'))).tensors;
      const golden = (await readSafetensors(join(GOLDEN, 'forward.safetensors'))).tensors;
      const img = await ort.InferenceSession.create(files.image);
      const txt = await ort.InferenceSession.create(files.text);
      const ie = (await img.run({ images: new ort.Tensor('float32', batch.get('images')!.data as Float32Array, [8, 3, 64, 64]) })).image_embeds!.data as Float32Array;
      const te = (await txt.run({ text: new ort.Tensor('int64', batch.get('text')!.data as BigInt64Array, [8, 32]) })).text_embeds!.data as Float32Array;
      const gi = golden.get('image_features')!.data as Float32Array;
      const gt = golden.get('text_features')!.data as Float32Array;
      const maxErr = (a: Float32Array, b: Float32Array) => a.reduce((m, v, i) => Math.max(m, Math.abs(v - b[i]!)), 0);
      expect(maxErr(normalized(ie, 64), gi)).toBeLessThan(5e-5);
      expect(maxErr(normalized(te, 64), gt)).toBeLessThan(5e-5);
      await img.release();
      await txt.release();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('a checkpoint without a config is a one-line error naming the file', () => {
    const dir = mkdtempSync(join(tmpdir(), 'cliplab-export-'));
    try {
      copyFileSync(join(GOLDEN, 'batch.safetensors'), join(dir, 'x.safetensors'));
      const r = spawnSync(process.execPath, [BIN, 'export', 'onnx', '--model', join(dir, 'x.safetensors'), '--out', join(dir, 'o')], { encoding: 'utf8' });
      expect(r.status).not.toBe(0);
      expect(r.stderr).toMatch(/x\.safetensors: no config\.json or open_clip_config\.json beside the checkpoint/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
