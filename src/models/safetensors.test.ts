// safetensors I/O: the golden OpenCLIP files, a byte-identical rewrite, and every malformed-file error.
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { InputError } from '../util/errors.js';
import {
  halfToFloat, numel, parseSafetensors, readSafetensors, serializeSafetensors, toFloat32, writeSafetensors,
  type NamedTensor,
} from './safetensors.js';
import { golden } from '../../test/support/golden.js';
import { describeWith } from '../../test/support/external.js';
import { pythonWith } from '../../test/support/python.js';

const tmp = () => mkdtempSync(join(tmpdir(), 'cliplab-st-'));

/** A safetensors file from a raw header string and data bytes (to build malformed files). */
function rawFile(header: string, data: Uint8Array = new Uint8Array(0), claimedLen?: number): Uint8Array {
  const h = Buffer.from(header, 'utf8');
  const out = new Uint8Array(8 + h.length + data.length);
  new DataView(out.buffer).setBigUint64(0, BigInt(claimedLen ?? h.length), true);
  out.set(h, 8);
  out.set(data, 8 + h.length);
  return out;
}

function expectInputError(fn: () => unknown, ...parts: RegExp[]): void {
  let err: unknown;
  try {
    fn();
  } catch (e) {
    err = e;
  }
  expect(err).toBeInstanceOf(InputError);
  for (const p of parts) expect((err as Error).message).toMatch(p);
}

describe('golden clip-vit-tiny init (written by OpenCLIP v2.20.0 tooling)', async () => {
  const path = golden('clip-vit-tiny', 'init.safetensors.gz');
  const { tensors, metadata } = await readSafetensors(path);
  const report = JSON.parse(readFileSync(golden('clip-vit-tiny', 'generation_report.json'), 'utf8')) as {
    num_parameters: number;
    token_embedding_rows_kept: number[];
    init_stats_unmasked: Record<string, { shape: number[]; mean: number; std: number }>;
  };

  it('has every parameter of the report with its shape, all F32, and the metadata', () => {
    expect(metadata.model).toBe('ViT-Tiny-8-64');
    expect(metadata.open_clip_version).toBe('2.20.0');
    expect([...tensors.keys()].sort()).toEqual(Object.keys(report.init_stats_unmasked).sort());
    for (const [name, s] of Object.entries(report.init_stats_unmasked)) {
      expect(tensors.get(name)!.shape, name).toEqual(s.shape);
      expect(tensors.get(name)!.dtype).toBe('F32');
    }
    const total = [...tensors.values()].reduce((a, t) => a + numel(t.shape), 0);
    expect(total).toBe(report.num_parameters);
  });

  it('has the shapes the README gives for this config', () => {
    expect(tensors.get('token_embedding.weight')!.shape).toEqual([49408, 64]);
    expect(tensors.get('visual.conv1.weight')!.shape).toEqual([96, 3, 8, 8]);
    expect(tensors.get('visual.positional_embedding')!.shape).toEqual([65, 96]);
    expect(tensors.get('logit_scale')!.shape).toEqual([]);
    expect((tensors.get('logit_scale')!.data as Float32Array)[0]).toBeCloseTo(Math.log(1 / 0.07), 6);
  });

  it('reads values correctly (stats of an unmasked tensor, masked embedding rows)', () => {
    const pos = tensors.get('positional_embedding')!.data as Float32Array;
    const mean = pos.reduce((a, b) => a + b, 0) / pos.length;
    const std = Math.sqrt(pos.reduce((a, b) => a + (b - mean) ** 2, 0) / pos.length); // numpy std, ddof 0
    expect(mean).toBeCloseTo(report.init_stats_unmasked.positional_embedding!.mean, 7);
    expect(std).toBeCloseTo(report.init_stats_unmasked.positional_embedding!.std, 6);
    const emb = tensors.get('token_embedding.weight')!.data as Float32Array;
    const kept = new Set(report.token_embedding_rows_kept);
    const rowNonZero = (r: number) => emb.subarray(r * 64, (r + 1) * 64).some((v) => v !== 0);
    expect(report.token_embedding_rows_kept.every(rowNonZero)).toBe(true);
    expect([1, 2, 1000, 49407].filter((r) => !kept.has(r)).some(rowNonZero)).toBe(false);
  });

  it('re-serializes byte-identically to the golden uncompressed bytes', () => {
    const bytes = gunzipSync(readFileSync(path));
    const again = serializeSafetensors(tensors, metadata);
    expect(again.length).toBe(bytes.length);
    expect(Buffer.compare(Buffer.from(again), bytes)).toBe(0);
  });
});

describe('golden batch (I64 token ids)', () => {
  it('reads int64 text and float images', async () => {
    const { tensors } = await readSafetensors(golden('clip-vit-tiny', 'batch.safetensors'));
    const text = tensors.get('text')!;
    expect(text.dtype).toBe('I64');
    expect(text.shape).toEqual([8, 32]);
    expect((text.data as BigInt64Array)[0]).toBe(49406n);
    expect(tensors.get('images')!.shape).toEqual([8, 3, 64, 64]);
  });
});

describe('writing', () => {
  const tensors: Record<string, NamedTensor> = {
    'b.bias': { dtype: 'F32', shape: [3], data: new Float32Array([1, -2, 3.5]) },
    a: { dtype: 'I64', shape: [2, 1], data: new BigInt64Array([7n, -9n]) },
    flag: { dtype: 'BOOL', shape: [], data: new Uint8Array([1]) },
    half: { dtype: 'F16', shape: [2], data: new Uint16Array([0x3c00, 0xc000]) },
    Z: { dtype: 'U8', shape: [0], data: new Uint8Array(0) },
  };

  it('round-trips every dtype with sorted keys and an 8-byte padded header', async () => {
    const path = join(tmp(), 'x.safetensors');
    await writeSafetensors(path, tensors, { note: 'héllo' });
    const bytes = readFileSync(path);
    const n = Number(bytes.readBigUInt64LE(0));
    expect(n % 8).toBe(0);
    const header = bytes.subarray(8, 8 + n).toString('utf8');
    expect(header.trimEnd().endsWith('}')).toBe(true);
    expect(Object.keys(JSON.parse(header))).toEqual(['Z', '__metadata__', 'a', 'b.bias', 'flag', 'half']);
    const back = await readSafetensors(path);
    expect(back.metadata).toEqual({ note: 'héllo' });
    for (const [k, t] of Object.entries(tensors)) expect(back.tensors.get(k)).toEqual(t);
  });

  it('writes and reads gzip when the name ends in .gz', async () => {
    const path = join(tmp(), 'x.safetensors.gz');
    await writeSafetensors(path, new Map(Object.entries(tensors)));
    expect(readFileSync(path)[0]).toBe(0x1f);
    const back = await readSafetensors(path);
    expect(back.tensors.get('a')).toEqual(tensors.a);
    expect(back.metadata).toEqual({});
  });

  it('rejects data that does not match shape or dtype', () => {
    expectInputError(() => serializeSafetensors({ w: { dtype: 'F32', shape: [2, 2], data: new Float32Array(3) } }), /'w'/, /shape/);
    expectInputError(() => serializeSafetensors({ w: { dtype: 'F32', shape: [2], data: new Float64Array(2) } }), /'w'/, /Float32Array/);
  });
});

describe('malformed files name the file and the key', () => {
  const f = '/data/bad.safetensors';
  const f32 = (n: number) => new Uint8Array(new Float32Array(n).buffer);
  it('truncated before the header length', () => expectInputError(() => parseSafetensors(f, new Uint8Array(5)), /bad\.safetensors/, /truncated/));
  it('header length beyond the file', () => expectInputError(() => parseSafetensors(f, rawFile('{}', new Uint8Array(0), 4096)), /bad\.safetensors/, /4096/));
  it('header not JSON', () => expectInputError(() => parseSafetensors(f, rawFile('{"w": {dtype')), /bad\.safetensors/, /JSON/));
  it('header JSON but not an object', () => expectInputError(() => parseSafetensors(f, rawFile('[1,2]')), /not a JSON object/));
  it('offsets outside the data region', () =>
    expectInputError(() => parseSafetensors(f, rawFile('{"w":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}}', f32(2))), /bad\.safetensors/, /'w'/, /outside/));
  it('offsets inconsistent with shape x dtype', () =>
    expectInputError(() => parseSafetensors(f, rawFile('{"w":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}}', f32(2))), /'w'/, /needs 12/));
  it('overlapping tensors', () =>
    expectInputError(
      () => parseSafetensors(f, rawFile('{"u":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"v":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}}', f32(3))),
      /'v'/, /overlaps/, /'u'/,
    ));
  it('unsupported dtype and bad shape', () => {
    expectInputError(() => parseSafetensors(f, rawFile('{"w":{"dtype":"F8_E4M3","shape":[1],"data_offsets":[0,1]}}', new Uint8Array(1))), /'w'/, /F8_E4M3/);
    expectInputError(() => parseSafetensors(f, rawFile('{"w":{"dtype":"U8","shape":[-1],"data_offsets":[0,1]}}', new Uint8Array(1))), /'w'/, /shape/);
  });
  it('non-string metadata', () => expectInputError(() => parseSafetensors(f, rawFile('{"__metadata__":{"k":1}}')), /__metadata__\.k/));
  it('a file cut short in its data region, read from disk', async () => {
    const path = join(tmp(), 'cut.safetensors');
    const whole = serializeSafetensors({ w: { dtype: 'F32', shape: [100], data: new Float32Array(100) } });
    writeFileSync(path, whole.subarray(0, whole.length - 10));
    await expect(readSafetensors(path)).rejects.toThrow(/cut\.safetensors.*'w'.*outside/);
    writeFileSync(path, whole.subarray(0, 20));
    await expect(readSafetensors(path)).rejects.toThrow(/cut\.safetensors.*header length/);
    await expect(readSafetensors(join(tmp(), 'missing.safetensors'))).rejects.toThrow(/missing\.safetensors.*ENOENT/);
  });
});

describe('alignment and conversion', () => {
  it('copies tensors at unaligned offsets into aligned arrays', () => {
    const data = new Uint8Array(1 + 8);
    data[0] = 42;
    data.set(new Uint8Array(new Float32Array([1.5, -0.25]).buffer), 1);
    const { tensors } = parseSafetensors('x', rawFile('{"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1]},"b":{"dtype":"F32","shape":[2],"data_offsets":[1,9]}}', data));
    const b = tensors.get('b')!.data as Float32Array;
    expect(b.byteOffset % 4).toBe(0);
    expect(Array.from(b)).toEqual([1.5, -0.25]);
  });
  it('widens F16 and BF16 to F32 exactly', () => {
    expect([0x3c00, 0xc000, 0x7bff, 0x0001, 0x7c00, 0x0000, 0x8000].map(halfToFloat)).toEqual([1, -2, 65504, 2 ** -24, Infinity, 0, -0]);
    expect(Number.isNaN(halfToFloat(0x7e00))).toBe(true);
    const h = toFloat32({ dtype: 'F16', shape: [2], data: new Uint16Array([0x3555, 0x3c01]) });
    expect(Array.from(h.data)).toEqual([0.333251953125, 1.0009765625]);
    const bf = toFloat32({ dtype: 'BF16', shape: [2], data: new Uint16Array([0x3f80, 0xc049]) });
    expect(Array.from(bf.data)).toEqual([1, -3.140625]);
    expect(toFloat32({ dtype: 'I64', shape: [1], data: new BigInt64Array([-3n]) }).data[0]).toBe(-3);
  });
});

// Interop with the reference implementation (the `safetensors` Python package with numpy): skipped with one
// line when no python3 has it, a failure under CI=true (.ci/run installs it).
const py = pythonWith(['safetensors', 'numpy'], 'python3 -m pip install safetensors numpy');

describeWith(py, 'Python safetensors reads what we write, and we read what it writes', () => {
  it('round-trips through the reference library', async () => {
    const dir = tmp();
    await writeSafetensors(join(dir, 'ours.safetensors'), {
      w: { dtype: 'F32', shape: [2, 2], data: new Float32Array([1, -2, 3.5, 0.25]) },
      ids: { dtype: 'I64', shape: [3], data: new BigInt64Array([49406n, -1n, 9007199254740993n]) },
      h: { dtype: 'F16', shape: [1], data: new Uint16Array([0x3c00]) },
      m: { dtype: 'BOOL', shape: [2], data: new Uint8Array([1, 0]) },
      s: { dtype: 'F64', shape: [], data: new Float64Array([Math.PI]) },
    }, { producer: 'cliplab' });
    const script = `
import json, sys, numpy as np
from safetensors import safe_open
from safetensors.numpy import save_file
d = json.load(sys.stdin)['dir']
with safe_open(d + '/ours.safetensors', 'np') as f:
    out = {'meta': f.metadata(), 't': {k: [str(f.get_tensor(k).dtype), list(f.get_tensor(k).shape), [str(v) for v in f.get_tensor(k).ravel().tolist()]] for k in f.keys()}}
save_file({'a': np.arange(6, dtype=np.float32).reshape(3, 2), 'b': np.array([7, -8], dtype=np.int32)}, d + '/theirs.safetensors', metadata={'k': 'v'})
print(json.dumps(out))`;
    const out = py.run<{ meta: Record<string, string>; t: Record<string, [string, number[], string[]]> }>(script, { dir });
    expect(out.meta).toEqual({ producer: 'cliplab' });
    expect(out.t.w).toEqual(['float32', [2, 2], ['1.0', '-2.0', '3.5', '0.25']]);
    expect(out.t.ids).toEqual(['int64', [3], ['49406', '-1', '9007199254740993']]);
    expect(out.t.h).toEqual(['float16', [1], ['1.0']]);
    expect(out.t.m).toEqual(['bool', [2], ['True', 'False']]);
    expect(out.t.s).toEqual(['float64', [], ['3.141592653589793']]);
    const theirs = await readSafetensors(join(dir, 'theirs.safetensors'));
    expect(theirs.metadata).toEqual({ k: 'v' });
    expect(theirs.tensors.get('a')).toEqual({ dtype: 'F32', shape: [3, 2], data: new Float32Array([0, 1, 2, 3, 4, 5]) });
    expect(theirs.tensors.get('b')).toEqual({ dtype: 'I32', shape: [2], data: new Int32Array([7, -8]) });
  });
});
