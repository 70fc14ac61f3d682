// Tests for training settings: OpenCLIP's family defaults, where the loader decodes by default, and the option
// table's stored keys, resume merge and errors.
import { describe, it, expect } from 'vitest';
import { loadModelConfig } from '../models/config.js';
import { availableParallelism } from 'node:os';
import { RESULT_KEYS, TRAIN_OPTIONS, type ResolvedParams, checkResumeParams, mergeResumeOptions, resolveParams, upgradeSavedParams, validateOptions } from './options.js';

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

describe('the train option table', () => {
  const cfg = loadModelConfig('ViT-Tiny-8-64');
  const params = resolveParams({ out: '/tmp/x', data: ['/tmp/d'] }, cfg, 'ViT-Tiny-8-64', [100]);

  it('stores every option that has a stored key, and resume reads each one back', () => {
    const stored = Object.values(TRAIN_OPTIONS).flatMap((d) => (d.param ? [d.param as string] : []));
    for (const k of stored) expect(params, k).toHaveProperty(k);
    const merged = mergeResumeOptions({ out: '/tmp/x' }, { ...params, grad_clip: 2, threads: 3, seed: 7, crop_scale: [0.5, 1] });
    expect(merged).toMatchObject({ gradClip: 2, threads: 3, seed: 7, cropScale: [0.5, 1], batchSize: 128, data: params.data });
    // A value given now wins over the saved one (the result check then compares them).
    expect(mergeResumeOptions({ out: '/tmp/x', seed: 1 }, params).seed).toBe(1);
  });

  it('counts steps of --accum-steps × --batch-size samples, keeps k on resume, reads runs saved before k existed as k = 1', () => {
    const acc = resolveParams({ out: '/tmp/x', data: ['/tmp/d'], batchSize: 10, accumSteps: 4, epochs: 2 }, cfg, 'ViT-Tiny-8-64', [100]);
    expect([acc.accum_steps, acc.steps_per_epoch, acc.total_steps]).toEqual([4, 3, 6]);
    expect(RESULT_KEYS).toContain('accum_steps');
    expect(() => checkResumeParams({ ...params, accum_steps: 1 }, { ...params, accum_steps: 4 }, 'p.json')).toThrow(/accum_steps was 4 in this run, now 1/);
    const old: Record<string, unknown> = { ...params };
    delete old.accum_steps;
    expect(() => checkResumeParams(params, upgradeSavedParams(old as typeof params), 'p.json')).not.toThrow();
    expect(() => validateOptions({ out: '/tmp/x', accumSteps: 0 })).toThrow(/--accum-steps: expected a positive integer, got 0/);
  });

  it('names the flag and the expectation for a bad library value', () => {
    expect(() => validateOptions({ out: '/tmp/x', batchSize: 0 })).toThrow(/--batch-size: expected a positive integer, got 0/);
    expect(() => validateOptions({ out: '/tmp/x', cropScale: [0.8, 0.5] })).toThrow(/--crop-scale: expected lo,hi with 0 < lo <= hi <= 1/);
    expect(() => validateOptions({ out: '/tmp/x', device: 'tpu' as 'cpu' })).toThrow(/--device: expected one of cpu\|cuda/);
    expect(() => validateOptions({ out: '/tmp/x', data: ['a'], proportions: [1, 2] })).toThrow(/--proportions: 2 proportion\(s\) for 1 data source/);
  });

  it('a resume that changes a result-defining setting is refused, naming it', () => {
    expect(RESULT_KEYS).toContain('lr');
    expect(RESULT_KEYS).not.toContain('threads');
    expect(() => checkResumeParams({ ...params, lr: 1 }, params, 'RUN/params.json')).toThrow(/lr was 0.0005 in this run, now 1/);
    expect(() => checkResumeParams({ ...params, threads: 1 }, params, 'RUN/params.json')).not.toThrow();
  });
});

describe('--alpha in training', () => {
  const cfg = loadModelConfig('ViT-Tiny-8-64');
  it("drops alpha by default, is stored and result-defining, and runs from before the option resume as they were trained", () => {
    expect(resolveParams({ out: '/tmp/x', data: ['/tmp/d'] }, cfg, 'm', [10]).alpha).toBe('drop');
    expect(resolveParams({ out: '/tmp/x', data: ['/tmp/d'], alpha: 'white' }, cfg, 'm', [10]).alpha).toBe('white');
    expect(RESULT_KEYS).toContain('alpha');
    expect(() => validateOptions({ out: '/tmp/x', alpha: 'grey' as never })).toThrow(/--alpha: expected one of drop\|white\|black/);
    const { alpha: _a, ...old } = resolveParams({ out: '/tmp/x', data: ['/tmp/d'] }, cfg, 'm', [10]);
    // cliplab's engine flattened on white before the option existed; OpenCLIP's trainer always dropped alpha.
    const own = upgradeSavedParams(old as ResolvedParams);
    expect(own.alpha).toBe('white');
    expect(upgradeSavedParams({ ...old, engine: 'openclip' } as unknown as ResolvedParams).alpha).toBe('drop');
    const resumed = resolveParams(mergeResumeOptions({ out: '/tmp/x' }, own), cfg, 'm', [10]);
    expect(resumed.alpha).toBe('white');
    expect(() => checkResumeParams(resumed, own, 'params.json')).not.toThrow();
    expect(() => checkResumeParams(resolveParams({ out: '/tmp/x', data: ['/tmp/d'], alpha: 'drop' }, cfg, 'm', [10]), own, 'params.json')).toThrow(/alpha was "white"/);
  });
});
