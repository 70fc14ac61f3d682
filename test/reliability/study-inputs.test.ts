// A study rerun checks its finished data jobs' source shards by content: a dataset whose input shard was
// replaced under the same name is found (a rewrite with the same bytes is not), and the job and everything
// downstream of it are the ones redone.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { buildDataset } from '../../src/data/curation/build.js';
import { validateSpec } from '../../src/data/curation/spec.js';
import { ShardWriter } from '../../src/data/shards/writer.js';
import { syntheticSample } from '../../src/data/shards/synthetic.js';
import { changedInput, downstream } from '../../src/study/stale-inputs.js';
import type { JobDefinition } from '../../src/study/store.js';

const root = mkdtempSync(join(tmpdir(), 'cliplab-study-inputs-'));
const src = join(root, 'src');
const write = async (offset: number) => {
  const w = new ShardWriter({ dir: src, shardSize: 4 });
  for (let i = 0; i < 8; i++) await w.write(await syntheticSample(i + offset, { size: 16 }));
  await w.close();
};

describe('finished data jobs and their sources', () => {
  it('a source shard replaced under the same name (or removed) is named; the same bytes rewritten are not', async () => {
    await write(0);
    const out = join(root, 'data');
    await buildDataset({ spec: validateSpec({ seed: 0, sources: [{ name: 'a', path: 'src' }] }, 'spec'), baseDir: root, out });
    expect(await changedInput(out)).toBeNull();
    await write(0);
    expect(await changedInput(out)).toBeNull();
    await write(300);
    expect(await changedInput(out)).toBe(join(src, '000000.tar'));
    rmSync(join(src, '000000.tar'));
    expect(await changedInput(out)).toBe(join(src, '000000.tar'));
  });

  it('what is redone: the data job and everything after it, not its siblings', () => {
    const job = (id: string, deps: string[]): JobDefinition => ({ id, kind: 'train', deps, fingerprint: id }) as JobDefinition;
    const jobs = [job('testbed', []), job('data/a/s', ['testbed']), job('data/b/s', ['testbed']), job('train/a', ['data/a/s']), job('train/b', ['data/b/s']), job('eval/a', ['testbed', 'train/a']), job('eval/ens', ['train/a', 'train/b'])];
    expect([...downstream(jobs, ['data/a/s'])].sort()).toEqual(['data/a/s', 'eval/a', 'eval/ens', 'train/a']);
  });
});
