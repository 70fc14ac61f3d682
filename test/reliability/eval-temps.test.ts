// A killed eval leaves hidden temp files (`.<name>.tmp-<pid>-<rand>`) where it was writing: in its --out
// directory, beside a --out file, in the zero-shot head cache. The next eval removes those of dead writers
// (a live writer's stay), whether or not it has anything new to write there.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { initClip, stateDictShapes } from '../../src/models/clip.js';
import { loadModelConfig } from '../../src/models/config.js';
import { writeCheckpoint } from '../../src/models/checkpoint.js';
import type { NamedTensor } from '../../src/models/safetensors.js';
import { evaluateZeroShot } from '../../src/eval/zeroshot-eval.js';
import { writeColorPng } from '../support/stub-model.js';

const root = mkdtempSync(join(tmpdir(), 'cliplab-eval-temps-'));
const model = join(root, 'model');
const folder = join(root, 'folder');
const heads = join(model, '.cliplab-cache', 'zeroshot-heads');
/** A pid that is certainly not running: a child that has exited. */
const deadPid = spawnSync(process.execPath, ['-e', '0']).pid!;
const temp = (dir: string, name: string, pid: number): string => {
  mkdirSync(dir, { recursive: true });
  const p = join(dir, `.${name}.tmp-${pid}-k1ll3d`);
  writeFileSync(p, '{"half":');
  return p;
};
const run = (out: string) => evaluateZeroShot({ model, imagefolder: folder, out, decodeThreads: 0, threads: 1 });

beforeAll(async () => {
  const cfg = loadModelConfig('ViT-Nano-8-32');
  const values = initClip(cfg, 0);
  const tensors = new Map<string, NamedTensor>();
  for (const [k, shape] of stateDictShapes(cfg)) tensors.set(k, { dtype: 'F32', shape, data: values.get(k)! });
  await writeCheckpoint(model, tensors, cfg);
  for (const [c, rgb] of [['red', [255, 0, 0]], ['blue', [0, 0, 255]]] as const) await writeColorPng(join(folder, c, '0.png'), [...rgb], 32);
}, 60_000);

describe('temp files of a killed eval', () => {
  it('are removed by the rerun: in --out, beside a --out file, and in the head cache even on a cache hit', async () => {
    const dir = join(root, 'out');
    await run(dir); // fills the head cache: the rerun below is a cache hit
    expect(readdirSync(heads).some((f) => f.endsWith('.f32'))).toBe(true);
    const stale = [temp(dir, 'model__folder.json', deadPid), temp(heads, 'abc.f32', deadPid), temp(root, 'one.json', deadPid)];
    const live = temp(heads, 'def.f32', process.pid);
    await run(dir);
    await run(join(root, 'one.json'));
    for (const p of stale) expect(existsSync(p), p).toBe(false);
    expect(existsSync(live)).toBe(true); // this process is alive: its temp may still be in use
  }, 60_000);
});
