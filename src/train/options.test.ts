// Tests for resolved training settings: OpenCLIP's family defaults, and where the loader decodes by default.
import { describe, it, expect } from 'vitest';
import { availableParallelism } from 'node:os';
import { loadModelConfig } from '../models/config.js';
import { resolveParams } from './options.js';

describe('resolved training settings', () => {
  const base = { out: '/tmp/x', data: ['/tmp/d'] };
  it('takes OpenCLIP’s AdamW defaults per family', () => {
    const vit = resolveParams(base, loadModelConfig('ViT-Tiny-8-64'), 'ViT-Tiny-8-64', [1000]);
    const rn = resolveParams(base, loadModelConfig('RN-Tiny-64'), 'RN-Tiny-64', [1000]);
    expect([vit.lr, vit.beta1, vit.beta2, vit.eps, vit.weight_decay]).toEqual([5e-4, 0.9, 0.98, 1e-6, 0.2]);
    expect([rn.beta2, rn.eps]).toEqual([0.999, 1e-8]);
  });

  it('decodes on the loader thread on the CPU, on cores − 2 extra threads with CUDA, or as told', () => {
    const cfg = loadModelConfig('ViT-Tiny-8-64');
    expect(resolveParams(base, cfg, 'm', [10]).workers).toBe(0);
    expect(resolveParams({ ...base, device: 'cuda' }, cfg, 'm', [10]).workers).toBe(Math.max(1, availableParallelism() - 2));
    expect(resolveParams({ ...base, device: 'cuda', workers: 3 }, cfg, 'm', [10]).workers).toBe(3);
  });
});
