// Writing OpenCLIP-loadable `torch.save` files: {'epoch', 'name', 'state_dict': OrderedDict(name → tensor)}
// pickled (protocol 2) the way torch.save pickles it, in a stored (uncompressed) zip whose records start on
// 64-byte boundaries as torch's writer aligns them. Hand-written: torch needs this exact record layout (and a
// CRC-32 per record, which its reader checks); a general zip library does not align records.
import { promises as fsp } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import * as zlib from 'node:zlib';
import { InputError } from '../util/errors.js';
import type { NamedTensor, SafeDType } from './safetensors.js';

const STORAGE_OF: Record<SafeDType, string> = {
  F32: 'FloatStorage', F16: 'HalfStorage', BF16: 'BFloat16Storage', F64: 'DoubleStorage',
  I64: 'LongStorage', I32: 'IntStorage', U8: 'ByteStorage', BOOL: 'BoolStorage',
};

/** A protocol-2 pickle writer for the few value kinds a checkpoint has. */
class Pickler {
  private readonly parts: Uint8Array[] = [];
  private bytes(b: number[] | Uint8Array): void {
    this.parts.push(b instanceof Uint8Array ? b : Uint8Array.from(b));
  }
  op(...b: number[]): this {
    this.bytes(b);
    return this;
  }
  int(n: number): this {
    if (!Number.isSafeInteger(n)) throw new Error(`pickle: ${n} is not an integer`);
    if (n >= 0 && n < 0x100) return this.op(0x4b, n); // BININT1
    if (n >= 0 && n < 0x10000) return this.op(0x4d, n & 0xff, n >> 8); // BININT2
    if (n >= -0x80000000 && n < 0x80000000) {
      const b = new Uint8Array(5);
      b[0] = 0x4a; // BININT
      new DataView(b.buffer).setInt32(1, n, true);
      this.bytes(b);
      return this;
    }
    // LONG1: little-endian two's complement, shortest form.
    let v = BigInt(n);
    const out: number[] = [];
    while (true) {
      out.push(Number(v & 0xffn));
      v >>= 8n;
      const sign = out[out.length - 1]! & 0x80;
      if ((v === 0n && !sign) || (v === -1n && sign)) break;
    }
    return this.op(0x8a, out.length, ...out);
  }
  str(s: string): this {
    const b = Buffer.from(s, 'utf8');
    const head = new Uint8Array(5);
    head[0] = 0x58; // BINUNICODE
    new DataView(head.buffer).setUint32(1, b.length, true);
    this.bytes(head);
    this.bytes(b);
    return this;
  }
  global(module: string, name: string): this {
    this.bytes(Buffer.from(`c${module}\n${name}\n`, 'latin1'));
    return this;
  }
  tuple(write: () => void): this {
    this.op(0x28); // MARK
    write();
    return this.op(0x74); // TUPLE
  }
  done(): Uint8Array {
    this.op(0x2e); // STOP
    return Buffer.concat(this.parts);
  }
}

/** The pickle of {'epoch', 'name', 'state_dict'}; storage `i` is tensor `i` (record `data/<i>`). */
function checkpointPickle(names: string[], tensors: NamedTensor[], epoch: number, runName: string): Uint8Array {
  const p = new Pickler();
  p.op(0x80, 2).op(0x7d).op(0x28); // PROTO 2, EMPTY_DICT, MARK
  p.str('epoch').int(epoch).str('name').str(runName).str('state_dict');
  p.global('collections', 'OrderedDict').op(0x29, 0x52).op(0x28); // OrderedDict(), MARK
  names.forEach((name, i) => {
    const t = tensors[i]!;
    const strides = t.shape.map((_, d) => t.shape.slice(d + 1).reduce((a, b) => a * b, 1));
    p.str(name).global('torch._utils', '_rebuild_tensor_v2');
    p.tuple(() => {
      p.tuple(() => p.str('storage').global('torch', STORAGE_OF[t.dtype]).str(String(i)).str('cpu').int(t.data.length));
      p.op(0x51); // BINPERSID
      p.int(0);
      p.tuple(() => t.shape.forEach((d) => p.int(d)));
      p.tuple(() => strides.forEach((s) => p.int(s)));
      p.op(0x89); // requires_grad False
      p.global('collections', 'OrderedDict').op(0x29, 0x52); // backward hooks: OrderedDict()
    });
    p.op(0x52); // REDUCE
  });
  p.op(0x75, 0x75); // SETITEMS (state dict), SETITEMS (top dict)
  return p.done();
}

const crc32: (b: Uint8Array, prev?: number) => number =
  typeof (zlib as { crc32?: unknown }).crc32 === 'function'
    ? (b, prev) => (zlib as unknown as { crc32(d: Uint8Array, v?: number): number }).crc32(b, prev)
    : tableCrc32;

let table: Uint32Array | null = null;
function tableCrc32(b: Uint8Array, prev = 0): number {
  if (!table) {
    table = new Uint32Array(256);
    for (let i = 0; i < 256; i++) {
      let c = i;
      for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
      table[i] = c >>> 0;
    }
  }
  let c = ~prev >>> 0;
  for (let i = 0; i < b.length; i++) c = table[(c ^ b[i]!) & 0xff]! ^ (c >>> 8);
  return ~c >>> 0;
}

const ALIGN = 64;
const LIMIT = 0xffffffff;

/** Writes `records` as a stored zip with 64-byte-aligned data, atomically (temp file, fsync, rename). */
async function writeStoredZip(path: string, records: { name: string; data: Uint8Array }[]): Promise<void> {
  await fsp.mkdir(dirname(path), { recursive: true });
  const tmp = join(dirname(path), `.${basename(path)}.tmp-${process.pid}`);
  const fh = await fsp.open(tmp, 'w');
  const central: Buffer[] = [];
  let offset = 0;
  try {
    for (const r of records) {
      const name = Buffer.from(r.name, 'utf8');
      // The extra field ("FB" + length, zeros) pads the header so the data starts on a 64-byte boundary.
      const pad = (ALIGN - ((offset + 30 + name.length + 4) % ALIGN)) % ALIGN;
      const extra = Buffer.alloc(4 + pad);
      extra.write('FB', 0, 'latin1');
      extra.writeUInt16LE(pad, 2);
      const crc = crc32(r.data);
      if (offset + r.data.length + 30 + name.length + extra.length >= LIMIT) throw new InputError(path, 'checkpoints over 4 GiB need ZIP64, which this writer does not do yet');
      const local = Buffer.alloc(30);
      local.writeUInt32LE(0x04034b50, 0);
      local.writeUInt16LE(20, 4); // version needed
      local.writeUInt32LE(crc, 14);
      local.writeUInt32LE(r.data.length, 18);
      local.writeUInt32LE(r.data.length, 22);
      local.writeUInt16LE(name.length, 26);
      local.writeUInt16LE(extra.length, 28);
      await fh.write(Buffer.concat([local, name, extra]));
      await fh.write(r.data);
      const cd = Buffer.alloc(46);
      cd.writeUInt32LE(0x02014b50, 0);
      cd.writeUInt16LE(20, 4); // version made by
      cd.writeUInt16LE(20, 6); // version needed
      cd.writeUInt32LE(crc, 16);
      cd.writeUInt32LE(r.data.length, 20);
      cd.writeUInt32LE(r.data.length, 24);
      cd.writeUInt16LE(name.length, 28);
      cd.writeUInt32LE(offset, 42);
      central.push(cd, name);
      offset += 30 + name.length + extra.length + r.data.length;
    }
    const dir = Buffer.concat(central);
    const end = Buffer.alloc(22);
    end.writeUInt32LE(0x06054b50, 0);
    end.writeUInt16LE(records.length, 8);
    end.writeUInt16LE(records.length, 10);
    end.writeUInt32LE(dir.length, 12);
    end.writeUInt32LE(offset, 16);
    await fh.write(Buffer.concat([dir, end]));
    await fh.sync();
  } catch (err) {
    await fh.close();
    await fsp.rm(tmp, { force: true });
    throw err;
  }
  await fh.close();
  await fsp.rename(tmp, path);
}

/**
 * Writes `tensors` (OpenCLIP state-dict names) as a torch.save checkpoint OpenCLIP's `load_checkpoint` reads:
 * {'epoch': epoch, 'name': name, 'state_dict': OrderedDict}. Atomic.
 */
export async function writeTorchCheckpoint(
  path: string,
  tensors: Map<string, NamedTensor>,
  opts: { epoch?: number; name?: string } = {},
): Promise<void> {
  const names = [...tensors.keys()];
  const list = names.map((n) => tensors.get(n)!);
  const pkl = checkpointPickle(names, list, opts.epoch ?? 0, opts.name ?? 'cliplab');
  const records = [
    { name: 'archive/data.pkl', data: pkl },
    { name: 'archive/byteorder', data: Buffer.from('little') },
    ...list.map((t, i) => ({ name: `archive/data/${i}`, data: new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength) })),
    { name: 'archive/version', data: Buffer.from('3\n') },
  ];
  await writeStoredZip(path, records);
}
