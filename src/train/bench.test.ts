// Tests for `bench train`: the fixed-batch figure, and with --data the interleaved blocks fed by the loader.
import { describe, it, expect } from 'vitest';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ShardWriter } from '../data/shards/writer.js';
import { syntheticSample } from '../data/shards/synthetic.js';
import { benchTrain } from './bench.js';
import { loadModelConfig } from '../models/config.js';
import { initClip } from '../models/clip.js';

describe('bench train', () => {
  it('with --data, times as many loader-fed steps as fixed-batch ones and reports their ratio', async () => {
    const dir = join(mkdtempSync(join(tmpdir(), 'cliplab-bench-train-')), 'a');
    const w = new ShardWriter({ dir, shardSize: 10 });
    for (let i = 0; i < 12; i++) await w.write(await syntheticSample(i, { size: 32 }));
    await w.close();
    // block 4: 2 untimed + 2 timed steps of each kind per round; 12 samples loop several epochs at batch 4
    const t0 = performance.now();
    const r = await benchTrain({ model: 'ViT-Nano-8-32', batchSize: 4, steps: 5, warmup: 1, threads: 1, spinning: false, data: dir, block: 4 });
    const wall = performance.now() - t0;
    expect(r.steps).toBe(6); // rounds until both kinds have ≥ 5 timed steps: 3 rounds × 2
    expect(r.step_ms).toHaveLength(6);
    expect(r.data!.path).toBe(dir);
    // The timed steps of both kinds (6 fixed, 6 fed by the loader at 4 images each) fit in the call's wall time.
    const fedMs = (1000 * 6 * 4) / r.data!.images_per_s;
    expect(r.step_ms.reduce((a, b) => a + b, 0) + fedMs).toBeLessThan(wall);
    expect(r.data!.data_wait_ms_median).toBeLessThanOrEqual(fedMs); // a wait is part of its step
    // The ratio is the loader-fed rate over the fixed-batch rate; both rates are reported rounded to 0.01
    // and the ratio to 0.001, so they agree within what that rounding can move.
    const fedRate = r.data!.images_per_s;
    const fixedRate = r.images_per_s;
    const slack = 0.0005 + (fedRate / fixedRate) * (0.005 / fedRate + 0.005 / fixedRate) + 1e-9;
    expect(Math.abs(r.data!.ratio - fedRate / fixedRate)).toBeLessThanOrEqual(slack);
    await expect(benchTrain({ model: 'ViT-Nano-8-32', batchSize: 4, steps: 1, warmup: 0, data: join(dir, 'nope') })).rejects.toThrow(/nope/);
  });

  it('accounts for the memory of the step: state sizes from the model, RSS at each stage, the peak', async () => {
    const r = await benchTrain({ model: 'RN-Tiny-64', batchSize: 2, steps: 1, warmup: 1, threads: 1, spinning: false });
    // Counted independently: every value OpenCLIP's init gives the model (parameters and batch-norm buffers).
    const values = [...initClip(loadModelConfig('RN-Tiny-64'), 0)];
    const count = (keep: (n: string) => boolean) => values.filter(([n]) => keep(n)).reduce((a, [, v]) => a + v.length, 0);
    const isBuffer = (n: string) => n.endsWith('.running_mean') || n.endsWith('.running_var');
    const mb = (n: number) => Math.round((n * 4) / 2 ** 20 * 10) / 10;
    const m = r.memory;
    expect(m.weights_mb).toBe(mb(count(() => true)));
    expect(m.adamw_moments_mb).toBe(mb(2 * count((n) => !isBuffer(n))));
    expect(m.gradients_mb).toBe(mb(count((n) => !isBuffer(n))));
    expect(m.batch_mb).toBe(Math.round(((2 * 3 * 64 * 64 * 4 + 2 * 32 * 8) / 2 ** 20) * 10) / 10);
    expect(m.timeline.map((s) => s.stage)).toEqual(['start', 'graph', 'session', 'first-step', 'steps']);
    expect(m.peak_rss_mb).toBeGreaterThanOrEqual(Math.max(...m.timeline.map((s) => s.rss_mb)));
    // No run fetches the whole state (parameters and moments) at once: the largest fetch is the gradients'.
    expect(m.largest_fetch_copy_mb).toBeGreaterThanOrEqual(m.gradients_mb);
    expect(m.largest_fetch_copy_mb).toBeLessThan(m.gradients_mb + m.adamw_moments_mb / 2);
  });
});
