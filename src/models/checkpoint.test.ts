// Checkpoints: state-dict matching (module. prefix, unknown/missing keys, shapes) and config.json beside weights.
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { InputError } from '../util/errors.js';
import { matchStateDict, readCheckpoint, writeCheckpoint } from './checkpoint.js';
import { loadModelConfig } from './config.js';
import type { NamedTensor } from './safetensors.js';
import { golden } from '../../test/support/golden.js';

const tmp = () => mkdtempSync(join(tmpdir(), 'cliplab-ckpt-'));
const f32 = (...shape: number[]): NamedTensor => ({ dtype: 'F32', shape, data: new Float32Array(shape.reduce((a, b) => a * b, 1)) });

const expected = new Map<string, number[]>([
  ['visual.proj', [4, 2]],
  ['logit_scale', []],
  ['token_embedding.weight', [10, 4]],
]);

function errorOf(fn: () => unknown): Error {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(InputError);
    return e as Error;
  }
  throw new Error('expected an error');
}

describe('matchStateDict', () => {
  it('accepts an exact match and strips a module. prefix', () => {
    const sd = new Map([['module.visual.proj', f32(4, 2)], ['module.logit_scale', f32()], ['token_embedding.weight', f32(10, 4)]]);
    const out = matchStateDict('ck.safetensors', sd, expected);
    expect([...out.keys()]).toEqual(['visual.proj', 'logit_scale', 'token_embedding.weight']);
    expect(out.get('visual.proj')).toBe(sd.get('module.visual.proj'));
  });
  it('rejects unknown keys, listing them and naming the file', () => {
    const sd = new Map([['visual.proj', f32(4, 2)], ['logit_scale', f32()], ['token_embedding.weight', f32(10, 4)], ['visual.extra', f32(1)]]);
    const e = errorOf(() => matchStateDict('/ck/a.safetensors', sd, expected));
    expect(e.message).toMatch(/\/ck\/a\.safetensors/);
    expect(e.message).toMatch(/unexpected.*visual\.extra/);
  });
  it('rejects missing keys unless allowed; long lists are cut with a count', () => {
    const e = errorOf(() => matchStateDict('a.safetensors', new Map([['visual.proj', f32(4, 2)]]), expected));
    expect(e.message).toMatch(/a\.safetensors: 2 key\(s\) missing.*logit_scale, token_embedding\.weight/);
    const ok = matchStateDict('a.safetensors', new Map([['visual.proj', f32(4, 2)]]), expected, {
      allowMissing: (n) => n !== 'visual.proj',
    });
    expect([...ok.keys()]).toEqual(['visual.proj']);
    const many = new Map(Array.from({ length: 25 }, (_, i) => [`p${i}`, [1]] as [string, number[]]));
    const e2 = errorOf(() => matchStateDict('b.safetensors', new Map(), many));
    expect(e2.message).toMatch(/25 key\(s\) missing/);
    expect(e2.message).toMatch(/p9, … \(25 in all\)/);
    expect(e2.message).not.toMatch(/p10/);
    expect(e2.message.split('\n').length).toBe(1);
  });
  it('rejects a shape mismatch naming key, file and both shapes', () => {
    const sd = new Map([['visual.proj', f32(2, 4)], ['logit_scale', f32()], ['token_embedding.weight', f32(10, 4)]]);
    const e = errorOf(() => matchStateDict('c.safetensors', sd, expected));
    expect(e.message).toMatch(/c\.safetensors: key 'visual\.proj': shape \[2, 4\].*expects \[4, 2\]/);
    const scalar = new Map([['visual.proj', f32(4, 2)], ['logit_scale', f32(1)], ['token_embedding.weight', f32(10, 4)]]);
    expect(errorOf(() => matchStateDict('c.safetensors', scalar, expected)).message).toMatch(/'logit_scale'.*\[1\].*\[\]/);
  });
});

describe('golden checkpoint', () => {
  it('matches the parameter names and shapes OpenCLIP reported for ViT-Tiny-8-64', async () => {
    const report = JSON.parse(readFileSync(golden('clip-vit-tiny', 'generation_report.json'), 'utf8')) as {
      init_stats_unmasked: Record<string, { shape: number[] }>;
    };
    const shapes = new Map(Object.entries(report.init_stats_unmasked).map(([k, v]) => [k, v.shape]));
    const ck = await readCheckpoint(golden('clip-vit-tiny', 'init.safetensors.gz'));
    expect(ck.config).toEqual(loadModelConfig('ViT-Tiny-8-64')); // the golden config.json beside it
    expect(matchStateDict(ck.file, ck.tensors, shapes).size).toBe(62);
    shapes.set('visual.proj', [64, 96]);
    expect(() => matchStateDict(ck.file, ck.tensors, shapes)).toThrow(/init\.safetensors\.gz: key 'visual\.proj'/);
  });
});

describe('readCheckpoint / writeCheckpoint', () => {
  const tensors = { 'visual.proj': f32(4, 2), logit_scale: { dtype: 'F32', shape: [], data: new Float32Array([2.5]) } as NamedTensor };
  it('writes model.safetensors and config.json into a directory and reads both back', async () => {
    const dir = tmp();
    const config = loadModelConfig('ViT-Tiny-8-64');
    const file = await writeCheckpoint(dir, tensors, config, { step: '3' });
    expect(file).toBe(join(dir, 'model.safetensors'));
    expect(existsSync(join(dir, 'config.json'))).toBe(true);
    const ck = await readCheckpoint(dir);
    expect(ck.config).toEqual(config);
    expect(ck.metadata).toEqual({ step: '3' });
    expect(ck.tensors.get('logit_scale')).toEqual(tensors.logit_scale);
  });
  it('writes to an explicit .safetensors path with config.json beside it', async () => {
    const dir = tmp();
    await writeCheckpoint(join(dir, 'epoch_1.safetensors'), tensors, loadModelConfig('RN-Tiny-64'));
    const ck = await readCheckpoint(join(dir, 'epoch_1.safetensors'));
    expect(ck.config?.vision_cfg.layers).toEqual([1, 1, 1, 1]);
  });
  it('refuses to write an invalid config', async () => {
    const bad = { ...loadModelConfig('ViT-Tiny-8-64'), embed_dim: -1 };
    await expect(writeCheckpoint(tmp(), tensors, bad)).rejects.toThrow(/embed_dim/);
  });
});
