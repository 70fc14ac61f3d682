// `cliplab train --engine openclip` against the real OpenCLIP v2.20 trainer (../shared/peer, on Debian's
// PyTorch): two processes under torchrun (gloo, CPU) on testbed shards, the checkpoint imported, and
// `cliplab eval` on it counting the same correct answers as OpenCLIP's own zero-shot of the same checkpoint;
// cliplab-written .pt + config.json loading into OpenCLIP with strict=True. Plus the pure parts: the flag
// mapping, the launch commands, and the log-line parser on a line OpenCLIP printed.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { describeWith } from '../../../test/support/external.js';
import { golden } from '../../../test/support/golden.js';
import { PEER_DIR, PEER_PYTHONPATH, openclipPeer } from '../../../test/support/tools.js';
import { buildTestbed } from '../../data/testbed/index.js';
import { readWeights } from '../../models/weights.js';
import { resolveParams } from '../options.js';
import { loadModelConfig } from '../../models/config.js';
import { launchCommand, shardPattern, trainerArgs } from './command.js';
import { parseTrainLine } from './run.js';

const repo = fileURLToPath(new URL('../../../', import.meta.url));
const bin = join(repo, 'bin', 'cliplab.js');
const scripts = join(repo, 'test', 'fixtures', 'openclip');
const pyEnv = { ...process.env, PYTHONPATH: PEER_PYTHONPATH };

function cliplab(args: string[], env: NodeJS.ProcessEnv = pyEnv) {
  const r = spawnSync(process.execPath, [bin, ...args], { cwd: repo, env, encoding: 'utf8', maxBuffer: 64 << 20 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

function python(script: string, args: string[]): Record<string, unknown> {
  const r = spawnSync('/usr/bin/python3', [join(scripts, script), ...args], { env: pyEnv, encoding: 'utf8', maxBuffer: 64 << 20 });
  if (r.status !== 0) throw new Error(`${script}: ${r.stderr.trim().split('\n').slice(-3).join(' | ')}`);
  return JSON.parse(r.stdout.trim().split('\n').pop()!) as Record<string, unknown>;
}

describe('OpenCLIP command mapping', () => {
  const cfg = loadModelConfig('ViT-Tiny-8-64');
  const params = resolveParams(
    { data: ['/d/a', '/d/b'], proportions: [3, 1], out: '/r', samples: 1000, epochs: 3, batchSize: 64, lr: 1e-3, warmup: 7, weightDecay: 0.1, beta1: 0.8, gradClip: 2, cropScale: [0.6, 1], seed: 5, lockText: true },
    cfg, 'ViT-Tiny-8-64', [120, 40],
  );

  it('maps every setting of the recipe to its OpenCLIP flag', () => {
    const a = trainerArgs({
      params, model: 'ViT-Tiny-8-64', shards: [['/d/a/000000.tar', '/d/a/000001.tar'], ['/d/b/x.tar']], logs: '/r/openclip', name: 'train',
      precision: 'amp', workers: 2, pretrained: '/r/openclip/init.pt', resume: true, worldSize: 2,
    });
    const get = (f: string): string | undefined => (a.includes(f) ? a[a.indexOf(f) + 1] : undefined);
    expect(get('--train-data')).toBe('/d/a/{000000..000001}.tar::/d/b/x.tar');
    expect(a).toContain('--dataset-resampled');
    // 3:1 over 2 and 1 shards: per-shard weights 0.375 and 0.25 give shard shares 0.75 / 0.25.
    expect(get('--train-data-upsampling-factors')).toBe('0.375::0.25');
    expect(get('--train-num-samples')).toBe('1000');
    expect(get('--batch-size')).toBe('32'); // per process
    expect([get('--epochs'), get('--lr'), get('--warmup'), get('--wd'), get('--beta1'), get('--beta2'), get('--eps')]).toEqual(['3', '0.001', '7', '0.1', '0.8', '0.98', '0.000001']);
    expect([get('--grad-clip-norm'), get('--seed'), get('--aug-cfg'), get('--precision'), get('--workers')]).toEqual(['2', '5', 'scale=(0.6,1)', 'amp', '2']);
    expect([get('--pretrained'), get('--resume'), get('--logs'), get('--name'), get('--model')]).toEqual(['/r/openclip/init.pt', 'latest', '/r/openclip', 'train', 'ViT-Tiny-8-64']);
    expect(a).toContain('--lock-text');
    expect(a).not.toContain('--lock-image');
    expect(() => trainerArgs({ params, model: 'm', shards: [['/a.tar']], logs: '/l', name: 'n', precision: 'fp32', pretrained: null, resume: false, worldSize: 3 })).toThrow(/not a multiple of the 3 processes/);
  });

  it('launches one process with python, several with torchrun, and srun inside a Slurm job', () => {
    const base = { python: '/py', entry: 'training.main', nprocPerNode: 1, nnodes: 1, backend: 'gloo' as const, launcher: null };
    expect(launchCommand(base, ['--x']).argv).toEqual(['/py', '-u', '-m', 'training.main', '--x']);
    expect(launchCommand({ ...base, nprocPerNode: 2, threads: 3 }, ['--x'])).toEqual({
      argv: ['/py', '-m', 'torch.distributed.run', '--nproc_per_node', '2', '--nnodes', '1', '--standalone', '--redirects', '1', '--tee', '1', '-m', 'training.main', '--x', '--dist-backend', 'gloo'],
      env: { OMP_NUM_THREADS: '3' },
    });
    expect(launchCommand({ ...base, entry: '/p/oc_train.py', nprocPerNode: 4, nnodes: 2, slurm: { jobId: '77', host: 'n1' }, backend: 'nccl' }, ['--x'])).toEqual({
      argv: ['srun', '--ntasks=8', '--ntasks-per-node=4', '--nodes=2', '--kill-on-bad-exit=1', '/py', '-u', '/p/oc_train.py', '--x', '--dist-backend', 'nccl'],
      env: { MASTER_ADDR: 'n1', MASTER_PORT: '20077' },
    });
    expect(launchCommand({ ...base, launcher: '/r/launch.py', nprocPerNode: 2, nnodes: 2, nodeRank: 1, masterAddr: 'h0', masterPort: 1234 }, []).argv).toEqual([
      '/py', '-m', 'torch.distributed.run', '--nproc_per_node', '2', '--nnodes', '2', '--node_rank', '1', '--master_addr', 'h0', '--master_port', '1234',
      '--redirects', '1', '--tee', '1', '/r/launch.py', 'training.main', '--dist-backend', 'gloo',
    ]);
    expect(shardPattern(['/a/000003.tar', '/a/000001.tar', '/a/000002.tar'])).toBe('/a/{000001..000003}.tar');
    expect(shardPattern(['/a/000001.tar', '/a/000003.tar'])).toBe('/a/000001.tar::/a/000003.tar');
  });

  it("reads OpenCLIP's progress line", () => {
    // Printed by OpenCLIP v2.20's trainer (2 processes, global batch 32, 8 steps per epoch).
    const line = '2026-12-01,23:09:52 | INFO | Train Epoch: 1 [ 96/256 (38%)] Data (t): 0.024 Batch (t): 0.841, 38.0591/s, 19.0295/s/gpu LR: 0.001036 Logit Scale: 14.090 Contrastive_loss: 3.4668 (3.4664) Loss: 3.4668 (3.4664)';
    expect(parseTrainLine(line, 8, 32)).toEqual({ step: 11, epoch: 2, samples_seen: 352, loss: 3.4668, lr: 0.001036, logit_scale: 14.09, images_per_s: 38.0591, data_wait_ms: 0 });
    expect(parseTrainLine('2026 | INFO | Start epoch 1', 8, 32)).toBeNull();
  });
});

describeWith(openclipPeer(), 'train --engine openclip (OpenCLIP v2.20 trainer, CPU)', () => {
  const root = mkdtempSync(join(tmpdir(), 'cliplab-openclip-'));
  const tb = join(root, 'tb');
  beforeAll(async () => {
    await buildTestbed({ out: tb, concepts: 10, views: 3, imageSize: 32, evalViews: 5, evalViewsFull: 1 });
  });

  it('a Python without OpenCLIP is named with the missing module, in one line, before anything is written', () => {
    const out = join(root, 'no-openclip');
    const { PYTHONPATH: _drop, ...env } = process.env;
    const r = cliplab(['train', '--engine', 'openclip', '--data', join(tb, 'sources', 'emoji-flat'), '--model', 'ViT-Nano-8-32', '--out', out, '--batch-size', '8', '--python', '/usr/bin/python3'], env);
    expect(r.code).toBe(1);
    expect(r.stderr.trim()).toBe("cliplab: --engine openclip: /usr/bin/python3 cannot import open_clip (ModuleNotFoundError: No module named 'open_clip'); install it for that Python, or pass --python");
    expect(existsSync(join(out, 'params.json'))).toBe(false);
  });

  it('--dry-run prints the launch command with the mapped settings and writes nothing', () => {
    const out = join(root, 'dry-run');
    const data = join(tb, 'sources', 'emoji-flat');
    const shards = readdirSync(data).filter((f) => f.endsWith('.tar')).sort();
    const args = ['train', '--engine', 'openclip', '--python', '/usr/bin/python3', '--data', data, '--model', 'ViT-Nano-8-32', '--out', out, '--samples', '48', '--batch-size', '8', '--lr', '2e-3', '--epochs', '3', '--dry-run'];
    const r = cliplab(args);
    expect(r.code, r.stderr).toBe(0);
    const line = r.stdout.trim();
    expect(line.split('\n')).toHaveLength(1);
    expect(shards).toHaveLength(1); // the testbed writes one shard per source at this size
    for (const want of [`--train-data ${join(data, shards[0]!)}`, '--lr 0.002', '--batch-size 8', '--epochs 3', '--train-num-samples 48', '--model ViT-Nano-8-32', '--dataset-type webdataset'])
      expect(line, want).toContain(want);
    expect(line.startsWith('/usr/bin/python3 -u ')).toBe(true);
    expect(r.stderr).toContain(`the run writes ${join(out, 'openclip', 'launch.py')}`);
    expect(existsSync(out)).toBe(false);
    const j = cliplab([...args, '--json']);
    expect(j.code, j.stderr).toBe(0);
    const cmd = JSON.parse(j.stdout) as { argv: string[]; writes: string[] };
    expect(cmd.argv[cmd.argv.indexOf('--lr') + 1]).toBe('0.002');
    expect(cmd.argv[cmd.argv.indexOf('--logs') + 1]).toBe(join(out, 'openclip'));
    expect(existsSync(out)).toBe(false);
  });

  it("trains a config with a short text context on OpenCLIP's unmodified trainer (v2.20 tokenizes to 77 on its own)", { timeout: 600_000 }, () => {
    const run = join(root, 'short-context');
    const r = cliplab([
      'train', '--engine', 'openclip', '--python', '/usr/bin/python3', '--data', join(tb, 'sources', 'emoji-flat'), '--model', 'ViT-Nano-8-32',
      '--out', run, '--samples', '64', '--batch-size', '16', '--precision', 'fp32', '--threads', '1', '--json',
    ]);
    expect(r.code, r.stderr.slice(-2000)).toBe(0);
    expect(JSON.parse(r.stdout.trim().split('\n').pop()!).command.argv).toContain('training.main');
    expect(loadModelConfig('ViT-Nano-8-32').text_cfg.context_length).not.toBe(77);
    expect(JSON.parse(readFileSync(join(run, 'summary.json'), 'utf8'))).toMatchObject({ engine: 'openclip', samples_seen: 64, steps: 4 });
  });

  it("trains with 2 processes (torchrun, gloo), imports the checkpoint, and cliplab eval counts what OpenCLIP's zero-shot counts", { timeout: 900_000 }, () => {
    const run = join(root, 'run');
    const r = cliplab([
      'train', '--engine', 'openclip', '--python', '/usr/bin/python3', '--openclip-entry', join(PEER_DIR, 'oc_train.py'), '--nproc-per-node', '2',
      '--data', `${join(tb, 'sources', 'emoji-flat')},${join(tb, 'sources', 'emoji-shaded')}`, '--model', 'ViT-Nano-8-32', '--out', run,
      '--samples', '512', '--epochs', '2', '--batch-size', '32', '--lr', '3e-3', '--precision', 'fp32', '--json',
    ]);
    expect(r.code, r.stderr.slice(-2000)).toBe(0);
    const res = JSON.parse(r.stdout.trim().split('\n').pop()!);
    expect(res.command.argv.slice(0, 5)).toEqual(['/usr/bin/python3', '-m', 'torch.distributed.run', '--nproc_per_node', '2']);
    expect(r.stderr).toMatch(/Train Epoch: 1 \[512\/512 \(100%\)\]/); // OpenCLIP's own progress, streamed
    for (const f of ['model.safetensors', 'config.json', 'summary.json', 'params.json', 'log.jsonl']) expect(existsSync(join(run, f)), f).toBe(true);
    const summary = JSON.parse(readFileSync(join(run, 'summary.json'), 'utf8'));
    expect(summary).toMatchObject({ engine: 'openclip', samples_seen: 1024, steps: 32 });
    expect(Number.isFinite(summary.final_loss)).toBe(true);

    const templates = join(root, 'templates.json');
    writeFileSync(templates, JSON.stringify(['an emoji of {}.', 'a picture of {}.']));
    const folder = join(tb, 'eval', 'noto-v1');
    const ours = cliplab(['eval', '--model', run, '--imagefolder', folder, '--templates', templates, '--out', join(root, 'eval.json'), '--threads', '1']);
    expect(ours.code, ours.stderr).toBe(0);
    const result = JSON.parse(readFileSync(join(root, 'eval.json'), 'utf8'));
    const theirs = python('zeroshot.py', [join(run, 'config.json'), join(run, 'openclip', 'train', 'checkpoints', 'epoch_2.pt'), folder, templates]);
    expect(theirs.n).toBe(50);
    expect(result.n).toBe(theirs.n);
    expect(Math.round(result.metrics.acc1 * result.n)).toBe(theirs.correct);
    expect(result.metrics.mean_per_class_recall).toBeCloseTo(theirs.mean_per_class_recall as number, 9);
  });

  it('a cliplab-written .pt and config.json load into OpenCLIP with strict=True, every tensor bit for bit', { timeout: 600_000 }, async () => {
    for (const model of ['clip-vit-tiny', 'clip-rn-tiny']) {
      const out = join(root, `${model}.pt`);
      const e = cliplab(['export', 'pt', '--model', golden(model, 'init.safetensors.gz'), '--model-config', golden(model, 'config.json'), '--out', out]);
      expect(e.code, e.stderr).toBe(0);
      const loaded = python('strict_load.py', [join(root, 'config.json'), out]) as { class: string; tensors: Record<string, string> };
      expect(loaded.class, model).toBe('CLIP'); // not CustomTextCLIP: no hf_model_name key in config.json
      const { tensors } = await readWeights(golden(model, 'init.safetensors.gz'));
      const want = Object.fromEntries(
        [...tensors].map(([k, t]) => [k, createHash('sha256').update(new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength)).digest('hex')]),
      );
      expect(loaded.tensors, model).toEqual(want);
    }
  });
});
