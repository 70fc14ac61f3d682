// `cliplab train` end to end through the built CLI (`npm test` builds dist/ first): kill -9 after the first
// checkpoint, --resume, and the final weights equal an uninterrupted run; bad input gives a one-line error.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { ShardWriter } from '../../data/shards/writer.js';
import { syntheticSample } from '../../data/shards/synthetic.js';
import { readSafetensors } from '../../models/safetensors.js';
import { cudaAvailable } from '../../runtime/index.js';

const repo = fileURLToPath(new URL('../../../', import.meta.url));
const env = { ...process.env, CLIPLAB_QUIET: '1' };
let root = '';
let data = '';

function cliplab(...args: string[]) {
  return spawnSync(process.execPath, ['bin/cliplab.js', ...args], { cwd: repo, encoding: 'utf8', env });
}

const trainArgs = (out: string) => ['train', '--data', data, '--model', 'ViT-Nano-8-32', '--out', out, '--batch-size', '16', '--epochs', '5', '--lr', '1e-3', '--threads', '1', '--checkpoint-every', '1', '--json'];

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'cliplab-train-cli-'));
  data = join(root, 'data');
  const w = new ShardWriter({ dir: data, shardSize: 20 });
  for (let i = 0; i < 48; i++) await w.write(await syntheticSample(i, { size: 32 }));
  await w.close();
});

describe('cliplab train', () => {
  it('survives kill -9: --resume ends with the weights of an uninterrupted run', async () => {
    const killed = join(root, 'killed');
    const child = spawn(process.execPath, ['bin/cliplab.js', ...trainArgs(killed)], { cwd: repo, env, stdio: 'ignore' });
    const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
    const latest = join(killed, 'checkpoints', 'latest.safetensors');
    const t0 = Date.now();
    while (!existsSync(latest) && Date.now() - t0 < 60_000) await new Promise((r) => setTimeout(r, 10));
    child.kill('SIGKILL');
    expect(await exited).toBeNull(); // killed, not finished
    expect(existsSync(join(killed, 'model.safetensors'))).toBe(false);

    const resumed = cliplab('train', '--out', killed, '--resume', '--threads', '1', '--json');
    expect(resumed.stderr).toBe('');
    expect(resumed.status).toBe(0);
    const full = cliplab(...trainArgs(join(root, 'full')));
    expect(full.status, full.stderr).toBe(0);
    const [a, b] = [JSON.parse(resumed.stdout), JSON.parse(full.stdout)];
    expect(a.steps).toBe(15);
    expect(a.samples_seen).toBe(b.samples_seen);
    const [x, y] = [await readSafetensors(a.model), await readSafetensors(b.model)];
    let worst = 0;
    for (const [k, t] of x.tensors) {
      const u = y.tensors.get(k)!.data as Float32Array;
      (t.data as Float32Array).forEach((v, i) => (worst = Math.max(worst, Math.abs(v - u[i]!))));
    }
    expect(worst).toBeLessThan(1e-5);
    const steps = readFileSync(join(killed, 'log.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l).step);
    expect(steps).toEqual(Array.from({ length: 15 }, (_, i) => i + 1));
  });

  it('fails on bad input with a one-line error before training', async () => {
    const cases: [string[], RegExp][] = [
      [['--data', join(root, 'nope')], /nope: data directory not found/],
      [['--model', 'ViT-Nope'], /ViT-Nope: unknown model config/],
      [['--batch-size', '100'], /--batch-size: 100 is larger than the dataset \(48 samples/],
      [['--batch-size', 'x'], /--batch-size: expected a positive integer, got 'x'/],
      [['--alpha', 'grey'], /--alpha: expected one of drop\|white\|black, got 'grey'/],
      [['--engine', 'openclip', '--alpha', 'white'], /--alpha: white: OpenCLIP's trainer drops alpha/],
    ];
    if (!(await cudaAvailable())) cases.push([['--device', 'cuda'], /--device cuda: onnxruntime-node has no CUDA provider/]);
    for (const [i, [extra, msg]] of cases.entries()) {
      const out = join(root, `bad-${i}`);
      const r = cliplab('train', '--data', data, '--model', 'ViT-Nano-8-32', '--out', out, '--batch-size', '16', ...extra);
      expect(r.status, r.stderr).toBe(1);
      expect(r.stderr.trim().split('\n').length, r.stderr).toBe(1);
      expect(r.stderr).toMatch(msg);
      expect(existsSync(join(out, 'log.jsonl'))).toBe(false);
    }
  });
});
