// A torch.save checkpoint (.pt) at the CLI's entry points: `cliplab eval --model X.pt`, `cliplab train --init X.pt`
// and `cliplab export onnx --model X.pt` against the same weights as safetensors. The .pt is written by PyTorch
// itself, OpenCLIP's trainer layout ({'epoch', 'name', 'state_dict'} with DDP's `module.` prefix), from tensors
// Python reads out of the safetensors file on its own (header JSON + raw little-endian bytes), so neither side of a
// comparison goes through cliplab's torch writer.
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { initClip, stateDictShapes } from '../../src/models/clip.js';
import { writeCheckpoint } from '../../src/models/checkpoint.js';
import { loadModelConfig } from '../../src/models/config.js';
import type { NamedTensor } from '../../src/models/safetensors.js';
import { describeWith } from '../support/external.js';
import { pythonModules } from '../support/tools.js';

const repo = fileURLToPath(new URL('../../', import.meta.url));
const torch = { ...pythonModules('/usr/bin/python3', ['torch', 'numpy']), name: 'PyTorch (python3-torch)' };

const TO_PT = `
import json, sys, numpy as np, torch
src, dst = sys.argv[1], sys.argv[2]
raw = open(src, 'rb').read()
n = int.from_bytes(raw[:8], 'little')
header = json.loads(raw[8:8 + n])
body = raw[8 + n:]
sd = {}
for name, h in header.items():
    if name == '__metadata__':
        continue
    assert h['dtype'] == 'F32', (name, h['dtype'])
    a, b = h['data_offsets']
    sd['module.' + name] = torch.from_numpy(np.frombuffer(body[a:b], dtype='<f4').reshape(h['shape']).copy())
torch.save({'epoch': 1, 'name': 'from-safetensors', 'state_dict': sd}, dst)
print(len(sd))
`;

function cliplab(...args: string[]) {
  const r = spawnSync(process.execPath, ['bin/cliplab.js', ...args], { cwd: repo, encoding: 'utf8', env: { ...process.env, CLIPLAB_QUIET: '1' }, maxBuffer: 64 << 20 });
  expect(r.status, `cliplab ${args.join(' ')}: ${r.stderr}`).toBe(0);
  return r.stdout;
}

describeWith(torch, 'a PyTorch .pt checkpoint at the CLI (eval, train --init, export onnx)', () => {
  let root: string;
  let tb: string;
  let st: string; // DIR/model.safetensors + config.json
  let pt: string; // DIR2/openclip.pt + the same config.json
  beforeAll(async () => {
    root = mkdtempSync(join(tmpdir(), 'cliplab-pt-cli-'));
    tb = join(root, 'tb');
    cliplab('testbed', 'build', '--out', tb, '--concepts', '6', '--views', '2', '--eval-views', '2', '--eval-views-full', '1', '--image-size', '32');
    const cfg = loadModelConfig('ViT-Nano-8-32');
    const shapes = stateDictShapes(cfg);
    const tensors = new Map<string, NamedTensor>();
    for (const [name, data] of initClip(cfg, 3)) tensors.set(name, { dtype: 'F32', shape: shapes.get(name)!, data });
    const stDir = join(root, 'st');
    mkdirSync(stDir);
    st = await writeCheckpoint(join(stDir, 'model.safetensors'), tensors, cfg);
    const ptDir = join(root, 'pt');
    mkdirSync(ptDir);
    copyFileSync(join(stDir, 'config.json'), join(ptDir, 'config.json'));
    pt = join(ptDir, 'openclip.pt');
    const r = spawnSync('/usr/bin/python3', ['-c', TO_PT, st, pt], { encoding: 'utf8', env: { ...process.env, OMP_NUM_THREADS: '1' } });
    expect(r.status, r.stderr).toBe(0);
    expect(Number(r.stdout.trim())).toBe(tensors.size);
  }, 120_000);
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  it('eval --model X.pt gives the metrics and per-class numbers of the safetensors', () => {
    const folder = join(tb, 'eval', 'noto-v1');
    const res = (m: string, out: string) => {
      cliplab('eval', '--model', m, '--imagefolder', folder, '--out', out, '--threads', '1', '--decode-threads', '0');
      return JSON.parse(readFileSync(out, 'utf8')) as { n: number; metrics: Record<string, number>; per_class: unknown };
    };
    const a = res(st, join(root, 'st.json'));
    const b = res(pt, join(root, 'pt.json'));
    expect(a.n).toBe(12);
    expect(b.n).toBe(a.n);
    expect(b.metrics).toEqual(a.metrics);
    expect(b.per_class).toEqual(a.per_class);
    // Accuracy on 12 images is coarse: the cached zero-shot heads (the text tower's class embeddings) match bit for bit.
    const head = (dir: string) => {
      const d = join(dir, '.cliplab-cache', 'zeroshot-heads');
      const files = readdirSync(d).filter((f) => f.endsWith('.f32'));
      expect(files).toHaveLength(1);
      return readFileSync(join(d, files[0]!));
    };
    const ha = head(dirname(st));
    expect(ha.length).toBe(6 * 32 * 4); // 6 classes × embed_dim 32, float32
    expect(head(dirname(pt)).equals(ha)).toBe(true);
  }, 60_000);

  it('export onnx --model X.pt writes the same ONNX files as from the safetensors', () => {
    cliplab('export', 'onnx', '--model', st, '--out', join(root, 'onnx-st'));
    cliplab('export', 'onnx', '--model', pt, '--out', join(root, 'onnx-pt'));
    for (const f of ['image_encoder.onnx', 'text_encoder.onnx']) {
      const a = readFileSync(join(root, 'onnx-st', f));
      const b = readFileSync(join(root, 'onnx-pt', f));
      expect(a.length, f).toBeGreaterThan(1000);
      expect(b.equals(a), f).toBe(true);
    }
  }, 60_000);

  it('train --init X.pt logs the same first loss as --init from the safetensors', () => {
    const first = (init: string, out: string) => {
      cliplab('train', '--data', join(tb, 'sources', 'emoji-flat'), '--init', init, '--out', out, '--samples', '16', '--batch-size', '8', '--seed', '4', '--threads', '1', '--workers', '0', '--json');
      const lines = readFileSync(join(out, 'log.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { step: number; loss: number });
      return lines[0]!;
    };
    const a = first(st, join(root, 'train-st'));
    const b = first(pt, join(root, 'train-pt'));
    expect(Number.isFinite(a.loss)).toBe(true);
    expect(b.step).toBe(a.step);
    expect(b.loss).toBe(a.loss);
  }, 60_000);
});
