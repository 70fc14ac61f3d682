// `bench data`: it times the batches it says it times (after the warm-up, inside the call's own wall time), on
// the shards it is given, counting their corrupt images, and removes the shards it generated.
import { describe, it, expect } from 'vitest';
import { mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { benchData } from './bench.js';
import { ShardWriter } from '../shards/writer.js';
import { syntheticSample } from '../shards/synthetic.js';

const ours = () => readdirSync(tmpdir()).filter((n) => n.startsWith('cliplab-bench-data-')).sort();

describe('benchData', () => {
  it('times steps × batch images after the warm-up, within its own wall time, and cleans up what it generated', async () => {
    const before = ours();
    const t0 = performance.now();
    const r = await benchData({ batchSize: 16, steps: 3, threads: 0, samples: 40, warmup: 1 });
    const wall = (performance.now() - t0) / 1000;
    expect(r).toMatchObject({ bench: 'data', batch_size: 16, steps: 3, threads: 0, image_size: 64, source: 'generated png', corrupt_images: 0 });
    expect(r.seconds).toBeGreaterThan(0);
    expect(r.startup_s + r.seconds).toBeLessThanOrEqual(wall);
    // images_per_s = 48 / seconds, up to the rounding of both figures (integer and milliseconds).
    expect(Math.abs(r.images_per_s * r.seconds - 3 * 16)).toBeLessThanOrEqual(0.5 * r.seconds + 0.0005 * r.images_per_s + 1e-9);
    expect(ours()).toEqual(before);
  });

  it('reads the given shards and counts their corrupt images', async () => {
    const dir = join(mkdtempSync(join(tmpdir(), 'cliplab-bench-shards-')), 'a');
    const w = new ShardWriter({ dir, shardSize: 100 });
    for (let i = 0; i < 8; i++) {
      const s = await syntheticSample(i, { size: 16 });
      if (i % 2 === 1) s.image = s.image.slice(0, 30); // truncated PNG
      await w.write(s);
    }
    await w.close();
    const r = await benchData({ batchSize: 4, steps: 1, threads: 0, warmup: 0, data: dir });
    expect(r.source).toBe(dir);
    expect(r.corrupt_images).toBeGreaterThan(0);
  });
});
