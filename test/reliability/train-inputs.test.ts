// What train trusts: a checkpoint's trainer state must add up before --resume believes it (a forged
// trainer.step would otherwise report a finished run).
import { copyFileSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { readSafetensors, writeSafetensors } from '../../src/models/safetensors.js';
import { trainClip, type TrainOptions } from '../../src/train/loop.js';
import { ShardWriter } from '../../src/data/shards/writer.js';
import { syntheticSample } from '../../src/data/shards/synthetic.js';

const root = mkdtempSync(join(tmpdir(), 'cliplab-train-inputs-'));
const data = join(root, 'data');
const opts = (out: string): TrainOptions => ({ data: [data], model: 'ViT-Nano-8-32', out: join(root, out), batchSize: 8, epochs: 3, threads: 1 });

beforeAll(async () => {
  const w = new ShardWriter({ dir: data, shardSize: 16 });
  for (let i = 0; i < 16; i++) await w.write(await syntheticSample(i, { size: 32 }));
  await w.close();
}, 60_000);

describe('--resume checks the trainer state', () => {
  it('refuses a forged trainer.step (past the end, or beyond the data position and the log)', async () => {
    const o = opts('forged');
    await trainClip({ ...o, stopAfterStep: 2 });
    const ck = join(o.out, 'checkpoints', 'latest.safetensors');
    const orig = await readSafetensors(ck);
    const forge = async (meta: Record<string, string>) => writeSafetensors(ck, orig.tensors, { ...orig.metadata, ...meta });
    const position = JSON.parse(orig.metadata['trainer.data_position']!);
    for (const [meta, why] of [
      [{ 'trainer.step': '6' }, /step 6 but the data position is after batch 2/],
      [{ 'trainer.step': '1000000' }, /step 1000000 is past the run's 6 steps/],
      [{ 'trainer.step': '5', 'trainer.epoch': '2', 'trainer.samples_seen': '40', 'trainer.data_position': JSON.stringify({ ...position, batches: 5, samples: 40 }) }, /log\.jsonl records 2 steps, the checkpoint claims 5/],
      [{ 'trainer.samples_seen': '17' }, /samples_seen 17 but the data position delivered 16/],
    ] as const) {
      await forge(meta);
      await expect(trainClip({ ...o, resume: true }), JSON.stringify(meta)).rejects.toThrow(why);
    }
    // The true state resumes and finishes all 6 steps.
    await forge({});
    const r = await trainClip({ ...o, resume: true });
    expect(r).toMatchObject({ steps: 6, stopped: false });
    expect(readFileSync(join(o.out, 'log.jsonl'), 'utf8').trim().split('\n')).toHaveLength(6);
  });
});

describe('--resume checks the data by content', () => {
  it('refuses a shard replaced under the same name; with the original data it resumes', async () => {
    const o = opts('data-changed');
    await trainClip({ ...o, stopAfterStep: 1 });
    const shard = join(data, '000000.tar');
    const original = readFileSync(shard);
    copyFileSync(shard, join(root, 'original.tar'));
    const w = new ShardWriter({ dir: join(root, 'other'), shardSize: 16 });
    for (let i = 0; i < 16; i++) await w.write(await syntheticSample(i + 500, { size: 32 }));
    await w.close();
    copyFileSync(join(root, 'other', '000000.tar'), shard);
    try {
      await expect(trainClip({ ...o, resume: true })).rejects.toThrow(
        new RegExp(`^--data: ${shard.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} is not the shard .*data-changed was trained on \\(sha256 [0-9a-f]{12}…, was [0-9a-f]{12}…\\): resume with the original data`),
      );
    } finally {
      writeFileSync(shard, original);
    }
    await expect(trainClip({ ...o, resume: true })).resolves.toMatchObject({ steps: 6, stopped: false });
  }, 120_000);
});
