// Reading `torch.save` files (.pt/.bin: a zip of `<archive>/data.pkl` + raw storages `<archive>/data/<key>`)
// into the same tensors a safetensors file gives: OpenCLIP's {'epoch', 'state_dict', 'optimizer'} or a bare
// state dict, `module.` prefixes kept for matchStateDict to strip. Unpickling goes through ./pickle.ts with
// only the globals a state dict needs (and the numpy scalars OpenCLIP's optimizer state carries, decoded as
// data); storages are read only for the state dict's tensors.
import yauzl from 'yauzl';
import { InputError } from '../util/errors.js';
import { type PyGlobal, type PyValue, pyGlobal, unpickle } from './pickle.js';
import { inflateLimit, inflateLimitError, numel, type NamedTensor, type SafeDType, type SafetensorsFile } from './safetensors.js';

/** Storage class → dtype and item size (torch's typed storages, as torch.save still names them). */
const STORAGES: Record<string, [SafeDType, number] | null> = {
  FloatStorage: ['F32', 4],
  HalfStorage: ['F16', 2],
  BFloat16Storage: ['BF16', 2],
  DoubleStorage: ['F64', 8],
  LongStorage: ['I64', 8],
  IntStorage: ['I32', 4],
  ByteStorage: ['U8', 1],
  BoolStorage: ['BOOL', 1],
  // Known to torch, not to our tensors: refused with the dtype's name when a state-dict tensor uses one.
  ShortStorage: null,
  CharStorage: null,
  ComplexFloatStorage: null,
  ComplexDoubleStorage: null,
};

/** The pickled storage a tensor views: its record key and element count (read later, if needed). */
interface StorageRef {
  readonly ref: 'storage';
  readonly type: string;
  readonly key: string;
  readonly numel: number;
}

/** A tensor as `_rebuild_tensor_v2` describes it: a strided view into a storage. */
interface TensorRef {
  readonly ref: 'tensor';
  readonly storage: StorageRef;
  readonly offset: number;
  readonly shape: number[];
  readonly stride: number[];
}

const isTensor = (v: unknown): v is TensorRef => typeof v === 'object' && v !== null && (v as TensorRef).ref === 'tensor';

function intList(where: string, v: PyValue, what: string): number[] {
  if (!Array.isArray(v) || !v.every((x) => typeof x === 'number' && Number.isSafeInteger(x) && x >= 0))
    throw new InputError(where, `${what} is not a tuple of non-negative integers`);
  return v as number[];
}

/** The allowlist: OrderedDict, the tensor/parameter rebuild functions, and the storage classes. */
function torchGlobals(where: string): Map<string, PyGlobal> {
  const g = new Map<string, PyGlobal>();
  const add = (x: PyGlobal): void => void g.set(x.name, x);
  // OrderedDict(), OrderedDict([(k, v), …]); BUILD sets attributes such as `_metadata` (ignored).
  add(pyGlobal('collections.OrderedDict', (args) => {
    const m = new Map<PyValue, PyValue>();
    for (const kv of Array.isArray(args[0]) ? args[0] : []) if (Array.isArray(kv) && kv.length === 2) m.set(kv[0]!, kv[1]!);
    return m;
  }, () => {}));
  const rebuild = (args: PyValue[]): PyValue => {
    const [storage, offset, size, stride] = args;
    if (typeof storage !== 'object' || storage === null || (storage as unknown as StorageRef).ref !== 'storage')
      throw new InputError(where, '_rebuild_tensor_v2: the first argument is not a storage');
    if (typeof offset !== 'number' || !Number.isSafeInteger(offset) || offset < 0) throw new InputError(where, '_rebuild_tensor_v2: bad storage offset');
    const t: TensorRef = { ref: 'tensor', storage: storage as unknown as StorageRef, offset, shape: intList(where, size!, 'tensor size'), stride: intList(where, stride!, 'tensor stride') };
    if (t.shape.length !== t.stride.length) throw new InputError(where, 'tensor size and stride differ in length');
    return t as unknown as PyValue;
  };
  add(pyGlobal('torch._utils._rebuild_tensor_v2', rebuild));
  // nn.Parameter(data, requires_grad, hooks[, state]): the data is all a state dict needs.
  for (const n of ['_rebuild_parameter', '_rebuild_parameter_with_state'])
    add(pyGlobal(`torch._utils.${n}`, (args) => {
      if (!isTensor(args[0])) throw new InputError(where, `${n}: the first argument is not a tensor`);
      return args[0]!;
    }));
  for (const s of Object.keys(STORAGES)) add(pyGlobal(`torch.${s}`));
  // OpenCLIP's scheduler stores numpy floats as the optimizer's lr: numpy scalars are data (a dtype code and
  // its bytes), decoded here without numpy; protocol 2 pickles those bytes as _codecs.encode(text, 'latin1').
  for (const mod of ['numpy', 'numpy._core'])
    add(pyGlobal(`${mod}.dtype`, (args) => ({ np: 'dtype', code: String(args[0]) }), () => {}));
  for (const mod of ['numpy.core.multiarray', 'numpy._core.multiarray']) add(pyGlobal(`${mod}.scalar`, (args) => numpyScalar(args)));
  add(pyGlobal('_codecs.encode', (args) => {
    const [text, enc] = args;
    if (typeof text !== 'string' || (enc !== 'latin1' && enc !== 'latin-1')) throw new InputError(where, `_codecs.encode: only latin-1 text is accepted, got ${String(enc)}`);
    const b = new Uint8Array(text.length);
    for (let i = 0; i < text.length; i++) b[i] = text.charCodeAt(i);
    return b;
  }));
  return g;
}

/** A numpy scalar's value from its dtype code and little-endian bytes (opaque for kinds a state dict never holds). */
function numpyScalar(args: PyValue[]): PyValue {
  const [dtype, bytes] = args;
  const code = typeof dtype === 'object' && dtype !== null && 'code' in dtype ? String((dtype as { code: unknown }).code) : '';
  if (!(bytes instanceof Uint8Array)) return { np: 'scalar', code };
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (code === 'f8' && bytes.length === 8) return v.getFloat64(0, true);
  if (code === 'f4' && bytes.length === 4) return v.getFloat32(0, true);
  if (code === 'i8' && bytes.length === 8) return Number(v.getBigInt64(0, true));
  return { np: 'scalar', code };
}

function persistentLoad(where: string) {
  return (pid: PyValue): PyValue => {
    if (!Array.isArray(pid) || pid[0] !== 'storage' || pid.length < 5) throw new InputError(where, 'persistent id is not a storage tuple');
    const [, type, key, , n] = pid;
    const name = typeof type === 'object' && type !== null && 'name' in type ? String((type as PyGlobal).name) : '';
    if (!name.startsWith('torch.') || !(name.slice(6) in STORAGES)) throw new InputError(where, `storage of unknown type '${name}'`);
    if (typeof key !== 'string' || !/^[0-9A-Za-z_]+$/.test(key)) throw new InputError(where, `storage key ${JSON.stringify(key)} is not a record name`);
    if (typeof n !== 'number' || !Number.isSafeInteger(n) || n < 0) throw new InputError(where, `storage ${key}: bad element count`);
    const ref: StorageRef = { ref: 'storage', type: name.slice(6), key, numel: n };
    return ref as unknown as PyValue;
  };
}

/** The zip's central directory: entry name → entry. */
async function openZip(file: string): Promise<{ zip: yauzl.ZipFile; entries: Map<string, yauzl.Entry> }> {
  let zip: yauzl.ZipFile;
  try {
    zip = await yauzl.openPromise(file, { autoClose: false, strictFileNames: true });
  } catch (err) {
    throw new InputError(file, `not a readable zip archive (${(err as Error).message})`);
  }
  const entries = new Map<string, yauzl.Entry>();
  try {
    for await (const e of zipEntries(zip)) entries.set(e.fileName, e);
  } catch (err) {
    zip.close();
    throw new InputError(file, `zip central directory is corrupt (${(err as Error).message})`);
  }
  return { zip, entries };
}

async function* zipEntries(zip: yauzl.ZipFile): AsyncGenerator<yauzl.Entry> {
  for (;;) {
    const e = await new Promise<yauzl.Entry | null>((resolve, reject) => {
      const onEntry = (x: yauzl.Entry): void => { cleanup(); resolve(x); };
      const onEnd = (): void => { cleanup(); resolve(null); };
      const onError = (err: Error): void => { cleanup(); reject(err); };
      const cleanup = (): void => {
        zip.off('entry', onEntry);
        zip.off('end', onEnd);
        zip.off('error', onError);
      };
      zip.on('entry', onEntry).on('end', onEnd).on('error', onError);
      zip.readEntry();
    });
    if (!e) return;
    yield e;
  }
}

/** Bytes of records read so far from one zip, held to the decompression-bomb limit of its file size. */
interface Inflated {
  bytes: number;
}

/**
 * One record's bytes into a fresh buffer of `size` bytes (the size the pickle implies, checked first). The
 * declared size is charged to `used` before allocating: yauzl stops a record at its declared size, so this
 * caps what a deflated record can inflate to, as the gzip path caps gzip data.
 */
async function readRecord(file: string, zip: yauzl.ZipFile, e: yauzl.Entry, size: number, used: Inflated): Promise<ArrayBuffer> {
  if (e.uncompressedSize !== size) throw new InputError(file, `record ${e.fileName} holds ${e.uncompressedSize} bytes, the pickle says ${size}`);
  if (used.bytes + size > inflateLimit(zip.fileSize)) {
    const total = used.bytes ? `, ${used.bytes + size} with the records before it` : '';
    throw inflateLimitError(file, `record ${e.fileName} (${size} bytes declared${total})`, zip.fileSize);
  }
  used.bytes += size;
  const out = new Uint8Array(new ArrayBuffer(size));
  const stream = await zip.openReadStreamPromise(e);
  let done = 0;
  try {
    for await (const chunk of stream as AsyncIterable<Buffer>) {
      if (done + chunk.length > size) throw new Error('more bytes than declared');
      out.set(chunk, done);
      done += chunk.length;
    }
  } catch (err) {
    throw new InputError(file, `record ${e.fileName} is corrupt (${(err as Error).message})`);
  }
  if (done !== size) throw new InputError(file, `record ${e.fileName} is truncated (${done} of ${size} bytes)`);
  return out.buffer;
}

type Typed = Float32Array | Float64Array | BigInt64Array | Int32Array | Uint16Array | Uint8Array;
const ARRAYS = { F32: Float32Array, F16: Uint16Array, BF16: Uint16Array, F64: Float64Array, I64: BigInt64Array, I32: Int32Array, U8: Uint8Array, BOOL: Uint8Array };
const viewOf = (dtype: SafeDType, buf: ArrayBuffer, n: number): Typed => new ARRAYS[dtype](buf, 0, n);
const allocOf = (dtype: SafeDType, n: number): Typed => new ARRAYS[dtype](n);

/** A contiguous tensor from a strided view (a copy unless the view is the whole storage in order). */
function materialize(where: string, name: string, t: TensorRef, buf: ArrayBuffer, dtype: SafeDType): NamedTensor {
  const n = numel(t.shape);
  const total = t.storage.numel;
  let last = t.offset;
  for (let d = 0; d < t.shape.length; d++) if (t.shape[d]! > 0) last += (t.shape[d]! - 1) * t.stride[d]!;
  if (n > 0 && last >= total) throw new InputError(where, `tensor '${name}' reaches element ${last} of a storage of ${total}`);
  const src = viewOf(dtype, buf, total);
  let contiguous = true;
  for (let d = t.shape.length - 1, s = 1; d >= 0; d--) {
    if (t.shape[d]! !== 1 && t.stride[d] !== s) contiguous = false;
    s *= t.shape[d]!;
  }
  if (contiguous && t.offset === 0 && n === total) return { dtype, shape: t.shape, data: src };
  const out = allocOf(dtype, n);
  if (contiguous) (out as Uint8Array).set(src.subarray(t.offset, t.offset + n) as Uint8Array);
  else {
    // Walk the view in row-major order (a transposed or sliced tensor sharing its storage).
    const dst = out as unknown as { [i: number]: number | bigint };
    const from = src as unknown as { [i: number]: number | bigint };
    const idx = new Array<number>(t.shape.length).fill(0);
    for (let i = 0; i < n; i++) {
      let p = t.offset;
      for (let d = 0; d < idx.length; d++) p += idx[d]! * t.stride[d]!;
      dst[i] = from[p]!;
      for (let d = idx.length - 1; d >= 0 && ++idx[d]! === t.shape[d]; d--) idx[d] = 0;
    }
  }
  return { dtype, shape: t.shape, data: out };
}

/** The state dict inside an unpickled checkpoint: `state_dict` of OpenCLIP's dict, or the dict itself. */
function stateDictOf(where: string, root: PyValue): Map<string, TensorRef> {
  if (!(root instanceof Map)) throw new InputError(where, 'the pickle holds no dict (not a state dict or an OpenCLIP checkpoint)');
  const inner = root.get('state_dict');
  const sd = inner instanceof Map ? inner : root;
  const out = new Map<string, TensorRef>();
  for (const [k, v] of sd) {
    if (typeof k !== 'string') throw new InputError(where, `state dict key ${String(k)} is not a string`);
    if (!isTensor(v)) {
      const keys = [...root.keys()].map(String).slice(0, 8).join(', ');
      throw new InputError(where, `'${k}' is not a tensor: not a state dict (top-level keys: ${keys})`);
    }
    out.set(k, v);
  }
  return out;
}

/** True when the first bytes are a zip local header (torch.save's format since PyTorch 1.6). */
export function isTorchZip(first4: Uint8Array): boolean {
  return first4[0] === 0x50 && first4[1] === 0x4b && first4[2] === 0x03 && first4[3] === 0x04;
}

/** Reads a torch.save file's state dict as named tensors; `metadata` carries OpenCLIP's epoch and name. */
export async function readTorchCheckpoint(file: string): Promise<SafetensorsFile> {
  const { zip, entries } = await openZip(file);
  try {
    const pkls = [...entries.keys()].filter((n) => /^[^/]+\/data\.pkl$/.test(n));
    if (pkls.length !== 1) throw new InputError(file, `a zip, but not a torch.save file: ${pkls.length} '<archive>/data.pkl' records`);
    const prefix = pkls[0]!.slice(0, -'data.pkl'.length);
    if ([...entries.keys()].some((n) => n.startsWith(`${prefix}code/`)))
      throw new InputError(file, 'a TorchScript archive (torch.jit.save), not a state dict: load it in PyTorch and torch.save(model.state_dict())');
    const used: Inflated = { bytes: 0 };
    const order = entries.get(`${prefix}byteorder`);
    if (order) {
      const b = new TextDecoder().decode(await readRecord(file, zip, order, order.uncompressedSize, used));
      if (b.trim() !== 'little') throw new InputError(file, `byte order '${b.trim()}' is not supported (little-endian only)`);
    }
    const pklEntry = entries.get(pkls[0]!)!;
    if (pklEntry.uncompressedSize > 256 << 20) throw new InputError(file, `data.pkl is ${pklEntry.uncompressedSize} bytes; a state dict's is a few MB at most`);
    const pkl = new Uint8Array(await readRecord(file, zip, pklEntry, pklEntry.uncompressedSize, used));
    const root = unpickle(pkl, { globals: torchGlobals(file), persistentLoad: persistentLoad(file), where: `${file}: data.pkl` });
    const refs = stateDictOf(file, root);
    const storages = new Map<string, ArrayBuffer>();
    const tensors = new Map<string, NamedTensor>();
    for (const [name, t] of refs) {
      const kind = STORAGES[t.storage.type];
      if (!kind) throw new InputError(file, `tensor '${name}': torch.${t.storage.type} tensors are not supported`);
      const [dtype, item] = kind;
      let buf = storages.get(t.storage.key);
      if (!buf) {
        const e = entries.get(`${prefix}data/${t.storage.key}`);
        if (!e) throw new InputError(file, `tensor '${name}': storage record data/${t.storage.key} is missing`);
        buf = await readRecord(file, zip, e, t.storage.numel * item, used);
        storages.set(t.storage.key, buf);
      }
      tensors.set(name, materialize(file, name, t, buf, dtype));
    }
    const metadata: Record<string, string> = { format: 'pt' };
    if (root instanceof Map) {
      for (const k of ['epoch', 'name'] as const) {
        const v = root.get(k);
        if (typeof v === 'number' || typeof v === 'string') metadata[`pt.${k}`] = String(v);
      }
    }
    return { tensors, metadata };
  } finally {
    zip.close();
  }
}
