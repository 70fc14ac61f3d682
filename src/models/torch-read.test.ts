// The .pt reader on files written by the real torch.save (test/fixtures/torch/make.py, PyTorch 1.13.1): dtypes,
// strided and offset views of shared storages, OpenCLIP's DDP checkpoint layout, and hostile pickles refused.
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { InputError } from '../util/errors.js';
import { unpickle } from './pickle.js';
import { toFloat32 } from './safetensors.js';
import { readTorchCheckpoint } from './torch-read.js';
import { writeTorchCheckpoint } from './torch-write.js';
import { readCheckpoint, writeCheckpoint } from './checkpoint.js';
import { loadModelConfig } from './config.js';
import { readWeights } from './weights.js';

const fixture = (name: string): string => fileURLToPath(new URL(`../../test/fixtures/torch/${name}`, import.meta.url));
const floats = (t: { dtype: string; shape: number[]; data: unknown } | undefined): number[] => Array.from(toFloat32(t as never).data);

// w = arange(6).reshape(2, 3) / 4: exact in fp16 and bf16 too.
const W = [0, 0.25, 0.5, 0.75, 1, 1.25];
const WT = [0, 0.75, 0.25, 1, 0.5, 1.25];

describe('readTorchCheckpoint (torch.save files)', () => {
  for (const dt of ['fp32', 'fp16', 'bf16'] as const) {
    it(`reads a bare ${dt} state dict: values, shapes, transposed and offset views, int64`, async () => {
      const { tensors, metadata } = await readTorchCheckpoint(fixture(`bare-${dt}.pt`));
      expect([...tensors.keys()]).toEqual(['visual.proj', 'visual.proj_t', 'logit_scale', 'bn.num_batches_tracked', 'ids', 'offset_slice']);
      const proj = tensors.get('visual.proj')!;
      expect(proj.dtype).toBe({ fp32: 'F32', fp16: 'F16', bf16: 'BF16' }[dt]);
      expect(proj.shape).toEqual([2, 3]);
      expect(floats(proj)).toEqual(W);
      expect(tensors.get('visual.proj_t')!.shape).toEqual([3, 2]);
      expect(floats(tensors.get('visual.proj_t'))).toEqual(WT);
      expect(tensors.get('logit_scale')!.shape).toEqual([]);
      expect(floats(tensors.get('logit_scale'))).toEqual([2.5]);
      expect(tensors.get('bn.num_batches_tracked')).toMatchObject({ dtype: 'I64', shape: [] });
      expect(Array.from(tensors.get('bn.num_batches_tracked')!.data as BigInt64Array)).toEqual([7n]);
      expect(Array.from(tensors.get('ids')!.data as BigInt64Array)).toEqual([-3n, 0n, 2n ** 40n]);
      expect(floats(tensors.get('offset_slice'))).toEqual([4, 5, 6]);
      expect(metadata.format).toBe('pt');
    });
  }

  it("reads OpenCLIP's DDP checkpoint: the state dict with its 'module.' keys, epoch and name, not the optimizer", async () => {
    const { tensors, metadata } = await readTorchCheckpoint(fixture('openclip-ddp.pt'));
    expect([...tensors.keys()]).toEqual(['module.lin.weight', 'module.lin.bias']);
    expect(floats(tensors.get('module.lin.weight'))).toEqual(W);
    expect(floats(tensors.get('module.lin.bias'))).toEqual([1, -1]);
    expect(metadata).toEqual({ format: 'pt', 'pt.epoch': '3', 'pt.name': 'run1' });
  });

  it('reads a module.state_dict() (an OrderedDict with _metadata, set by BUILD)', async () => {
    const { tensors } = await readWeights(fixture('module-state-dict.pt'));
    expect([...tensors.keys()]).toEqual(['lin.weight', 'lin.bias']);
  });

  for (const [file, global] of [['evil-posix-system.pt', 'posix.system'], ['evil-os-system.pt', 'os.system']] as const) {
    it(`refuses a pickle naming ${global}, and nothing runs`, async () => {
      const cwd = process.cwd();
      const dir = mkdtempSync(join(tmpdir(), 'cliplab-pt-'));
      process.chdir(dir);
      try {
        const err = await readWeights(fixture(file)).catch((e: unknown) => e);
        expect(err).toBeInstanceOf(InputError);
        expect((err as Error).message).toContain(`refusing global '${global}'`);
        expect(existsSync(join(dir, 'PWNED'))).toBe(false);
      } finally {
        process.chdir(cwd);
      }
    });
  }

  it('refuses globals, REDUCE on data and BUILD on foreign objects in a hand-made pickle', () => {
    const opts = { globals: new Map(), where: 'x.pkl' };
    // GLOBAL 'builtins eval'
    expect(() => unpickle(Buffer.from('\x80\x02cbuiltins\neval\n.', 'latin1'), opts)).toThrow(/refusing global 'builtins.eval'/);
    // STACK_GLOBAL 'subprocess' 'Popen'
    expect(() => unpickle(Buffer.from('\x80\x04\x8c\x0asubprocess\x8c\x05Popen\x93.', 'latin1'), opts)).toThrow(/refusing global 'subprocess.Popen'/);
    // REDUCE on a string: ('a', ()) R
    expect(() => unpickle(Buffer.from('\x80\x02X\x01\x00\x00\x00a)R.', 'latin1'), opts)).toThrow(/REDUCE on a string/);
    // BUILD on a dict: {} {} b
    expect(() => unpickle(Buffer.from('\x80\x02}}b.', 'latin1'), opts)).toThrow(/BUILD on a dict that no allowed global made/);
    // Protocol-0 INST opcode
    expect(() => unpickle(Buffer.from('(ios\nsystem\n.', 'latin1'), opts)).toThrow(/unsupported opcode/);
    // Truncated string
    expect(() => unpickle(Buffer.from('\x80\x02X\xff\x00\x00\x00ab', 'latin1'), opts)).toThrow(/needs 255 more bytes/);
  });

  it('rejects a zip that is not a torch.save file, and a storage that the pickle overruns', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'cliplab-pt-'));
    const notTorch = join(dir, 'plain.pt');
    // A zip with one stored record "a/x" (hand-assembled by the same writer, then renamed record).
    await writeTorchCheckpoint(notTorch, new Map());
    const bytes = readFileSync(notTorch);
    writeFileSync(notTorch, Buffer.from(bytes.toString('latin1').replaceAll('archive/data.pkl', 'archive/xxxx.pkl'), 'latin1'));
    await expect(readWeights(notTorch)).rejects.toThrow(/not a torch.save file: 0 '<archive>\/data.pkl' records/);
  });
});

describe('writeTorchCheckpoint', () => {
  it('writes what the reader reads back: names, dtypes, shapes, values, epoch and name', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'cliplab-pt-'));
    const file = join(dir, 'm.pt');
    const tensors = new Map([
      ['a.weight', { dtype: 'F32' as const, shape: [2, 3], data: Float32Array.from(W) }],
      ['a.half', { dtype: 'F16' as const, shape: [2], data: Uint16Array.of(0x3c00, 0xc000) }],
      ['n', { dtype: 'I64' as const, shape: [], data: BigInt64Array.of(70000n) }],
    ]);
    await writeTorchCheckpoint(file, tensors, { epoch: 2, name: 'r' });
    const back = await readWeights(file);
    expect([...back.tensors.keys()]).toEqual(['a.weight', 'a.half', 'n']);
    expect(floats(back.tensors.get('a.weight'))).toEqual(W);
    expect(floats(back.tensors.get('a.half'))).toEqual([1, -2]);
    expect(Array.from(back.tensors.get('n')!.data as BigInt64Array)).toEqual([70000n]);
    expect(back.metadata).toMatchObject({ 'pt.epoch': '2', 'pt.name': 'r' });
  });
});

describe('writeCheckpoint to .pt, config.json for OpenCLIP', () => {
  it("writes a .pt and a config.json without the null keys OpenCLIP tests for presence; both read back", async () => {
    const dir = mkdtempSync(join(tmpdir(), 'cliplab-pt-'));
    const cfg = loadModelConfig('RN-Tiny-64');
    const file = await writeCheckpoint(join(dir, 'epoch_4.pt'), new Map([['x', { dtype: 'F32' as const, shape: [1], data: Float32Array.of(3) }]]), cfg, { epoch: '4', name: 'n' });
    expect(file).toBe(join(dir, 'epoch_4.pt'));
    const json = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8'));
    for (const k of ['hf_model_name', 'hf_tokenizer_name', 'ls_init_value']) expect(json.text_cfg).not.toHaveProperty(k);
    for (const k of ['timm_model_name', 'timm_drop_path', 'ls_init_value']) expect(json.vision_cfg).not.toHaveProperty(k);
    expect(json.vision_cfg.layers).toEqual(cfg.vision_cfg.layers);
    const back = await readCheckpoint(file);
    expect(back.config).toEqual(cfg);
    expect(back.metadata).toMatchObject({ 'pt.epoch': '4', 'pt.name': 'n' });
    expect(floats(back.tensors.get('x'))).toEqual([3]);
  });
});
