// Smoke test of `bench data`: it measures what it says on a tiny configuration and cleans up.
import { describe, it, expect } from 'vitest';
import { benchData } from './bench.js';

describe('benchData', () => {
  it('reports images/s and CPU-normalized throughput for a small run', async () => {
    const r = await benchData({ batchSize: 16, steps: 3, threads: 0, samples: 40, warmup: 1 });
    expect(r.bench).toBe('data');
    expect(r.images_per_s).toBeGreaterThan(0);
    expect(r.images_per_cpu_s).toBeGreaterThan(0);
    expect(r).toMatchObject({ batch_size: 16, steps: 3, threads: 0, image_size: 64, corrupt_images: 0 });
    expect(r.measured).toMatch(/decode/);
  });
});
