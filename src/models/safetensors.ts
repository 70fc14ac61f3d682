// safetensors files (the Hugging Face format: u64 LE header length, JSON header, raw little-endian data), read
// strictly and written byte-for-byte like the reference writers (keys sorted, header space-padded to 8 bytes).
import { promises as fsp } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import { endianness } from 'node:os';
import { gunzipSync, gzipSync } from 'node:zlib';
import { InputError } from '../util/errors.js';
import { writeFileAtomic } from '../util/fs.js';

export type SafeDType = 'F32' | 'F64' | 'I64' | 'I32' | 'F16' | 'BF16' | 'U8' | 'BOOL';
export type TensorData = Float32Array | Float64Array | BigInt64Array | Int32Array | Uint8Array | Uint16Array;

export interface NamedTensor {
  dtype: SafeDType;
  shape: number[];
  /** F16 and BF16 hold their raw 16-bit patterns in a Uint16Array; BOOL holds 0/1 bytes. */
  data: TensorData;
}

export interface SafetensorsFile {
  tensors: Map<string, NamedTensor>;
  metadata: Record<string, string>;
}

const ITEM_SIZE: Record<SafeDType, number> = { F32: 4, F64: 8, I64: 8, I32: 4, F16: 2, BF16: 2, U8: 1, BOOL: 1 };
type ArrayCtor = Float32ArrayConstructor | Float64ArrayConstructor | BigInt64ArrayConstructor | Int32ArrayConstructor
  | Uint16ArrayConstructor | Uint8ArrayConstructor;
const ARRAY_FOR: Record<SafeDType, ArrayCtor> = {
  F32: Float32Array, F64: Float64Array, I64: BigInt64Array, I32: Int32Array,
  F16: Uint16Array, BF16: Uint16Array, U8: Uint8Array, BOOL: Uint8Array,
};
/** The reference implementation refuses headers over 100 MB; so do we (it also guards against garbage lengths). */
const MAX_HEADER = 100_000_000;
/**
 * A compressed checkpoint (gzip safetensors, a torch.save zip with deflated records) is decompressed into
 * memory at most to max(GZIP_MIN_LIMIT, GZIP_MAX_RATIO × its size): float weights compress 1-10×, so a file
 * that inflates far beyond that is a decompression bomb.
 */
export const GZIP_MAX_RATIO = 100;
export const GZIP_MIN_LIMIT = 256 * 1024 * 1024;
export const inflateLimit = (compressed: number): number => Math.max(GZIP_MIN_LIMIT, GZIP_MAX_RATIO * compressed);

/** The error for `what` (in `path`, a `compressed`-byte file) decompressing past inflateLimit. */
export function inflateLimitError(path: string, what: string, compressed: number): InputError {
  return new InputError(path, `${what} decompresses to more than ${inflateLimit(compressed)} bytes, the limit for a ${compressed}-byte file (${GZIP_MAX_RATIO}× its size, at least ${GZIP_MIN_LIMIT} bytes): refusing it`);
}

if (endianness() !== 'LE') throw new Error('cliplab safetensors I/O assumes a little-endian host');

export const numel = (shape: readonly number[]): number => shape.reduce((a, b) => a * b, 1);

function isDType(x: unknown): x is SafeDType {
  return typeof x === 'string' && Object.hasOwn(ITEM_SIZE, x);
}

/** An empty, aligned typed array of `dtype` with `n` elements. */
function allocTyped(dtype: SafeDType, n: number): TensorData {
  return new ARRAY_FOR[dtype](n);
}

/** A fresh, aligned typed array of `dtype` holding a copy of `bytes` (which may sit at any offset). */
function typedCopy(dtype: SafeDType, bytes: Uint8Array): TensorData {
  const out = allocTyped(dtype, bytes.length / ITEM_SIZE[dtype]);
  new Uint8Array(out.buffer).set(bytes);
  return out;
}

interface Entry {
  key: string;
  dtype: SafeDType;
  shape: number[];
  begin: number;
  end: number;
}

/** The u64 header length, checked against the file size. */
function headerLength(file: string, first8: Uint8Array, fileSize: number): number {
  if (fileSize < 8) throw new InputError(file, `truncated safetensors file: ${fileSize} bytes, no header length`);
  const n64 = new DataView(first8.buffer, first8.byteOffset, 8).getBigUint64(0, true);
  if (n64 > BigInt(fileSize - 8)) {
    throw new InputError(file, `header length ${n64} runs past the end of the file (${fileSize} bytes): truncated or not safetensors`);
  }
  const n = Number(n64);
  if (n > MAX_HEADER) throw new InputError(file, `header length ${n} exceeds the 100 MB limit`);
  return n;
}

/** Validate the JSON header against a data region of `dataLen` bytes. */
function parseHeader(file: string, headerBytes: Uint8Array, dataLen: number): { entries: Entry[]; metadata: Record<string, string> } {
  let header: unknown;
  try {
    header = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(headerBytes));
  } catch (err) {
    throw new InputError(file, `safetensors header is not valid UTF-8 JSON (${(err as Error).message})`);
  }
  if (header === null || typeof header !== 'object' || Array.isArray(header)) {
    throw new InputError(file, 'safetensors header is not a JSON object');
  }
  const metadata: Record<string, string> = {};
  const entries: Entry[] = [];
  for (const [key, info] of Object.entries(header as Record<string, unknown>)) {
    if (key === '__metadata__') {
      if (info === null || typeof info !== 'object' || Array.isArray(info)) {
        throw new InputError(file, '__metadata__ must be an object of strings');
      }
      for (const [k, v] of Object.entries(info)) {
        if (typeof v !== 'string') throw new InputError(file, `__metadata__.${k} must be a string, got ${JSON.stringify(v)}`);
        metadata[k] = v;
      }
      continue;
    }
    const where = `tensor '${key}'`;
    if (info === null || typeof info !== 'object') throw new InputError(file, `${where}: entry is not an object`);
    const { dtype, shape, data_offsets: offs } = info as Record<string, unknown>;
    if (!isDType(dtype)) throw new InputError(file, `${where}: unsupported dtype ${JSON.stringify(dtype)} (supported: ${Object.keys(ITEM_SIZE).join(', ')})`);
    if (!Array.isArray(shape) || !shape.every((d) => Number.isSafeInteger(d) && d >= 0)) {
      throw new InputError(file, `${where}: shape must be an array of non-negative integers, got ${JSON.stringify(shape)}`);
    }
    if (!Array.isArray(offs) || offs.length !== 2 || !offs.every((o) => Number.isSafeInteger(o) && o >= 0)) {
      throw new InputError(file, `${where}: data_offsets must be [begin, end], got ${JSON.stringify(offs)}`);
    }
    const [begin, end] = offs as [number, number];
    if (begin > end || end > dataLen) {
      throw new InputError(file, `${where}: data_offsets [${begin}, ${end}] lie outside the data region of ${dataLen} bytes`);
    }
    const want = numel(shape) * ITEM_SIZE[dtype];
    if (end - begin !== want) {
      throw new InputError(file, `${where}: data_offsets span ${end - begin} bytes but ${dtype} ${JSON.stringify(shape)} needs ${want}`);
    }
    entries.push({ key, dtype, shape: shape as number[], begin, end });
  }
  const byStart = [...entries].sort((a, b) => a.begin - b.begin || a.end - b.end);
  for (let i = 1; i < byStart.length; i++) {
    const prev = byStart[i - 1]!;
    const cur = byStart[i]!;
    if (cur.begin < prev.end) {
      throw new InputError(file, `tensor '${cur.key}': data [${cur.begin}, ${cur.end}] overlaps tensor '${prev.key}' [${prev.begin}, ${prev.end}]`);
    }
  }
  return { entries, metadata };
}

/** Parse safetensors bytes held in memory. `file` names the source in errors. */
export function parseSafetensors(file: string, bytes: Uint8Array): SafetensorsFile {
  const n = headerLength(file, bytes, bytes.length);
  const { entries, metadata } = parseHeader(file, bytes.subarray(8, 8 + n), bytes.length - 8 - n);
  const tensors = new Map<string, NamedTensor>();
  for (const e of entries) {
    const slice = bytes.subarray(8 + n + e.begin, 8 + n + e.end);
    tensors.set(e.key, { dtype: e.dtype, shape: e.shape, data: typedCopy(e.dtype, slice) });
  }
  return { tensors, metadata };
}

const cannotRead = (path: string, err: unknown): InputError =>
  new InputError(path, `cannot read safetensors file: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);

/** Read exactly `dst.length` bytes at `position` (in chunks: one read is capped at 2 GB). */
async function readFully(fh: FileHandle, dst: Uint8Array, position: number): Promise<void> {
  for (let done = 0; done < dst.length; ) {
    const len = Math.min(dst.length - done, 1 << 30);
    const { bytesRead } = await fh.read(dst, done, len, position + done);
    if (bytesRead === 0) throw new Error('unexpected end of file');
    done += bytesRead;
  }
}

/**
 * Read a `.safetensors` file, or a gzip-compressed one (`.gz` name or gzip magic bytes). Plain files are read
 * tensor by tensor straight into aligned arrays, so a checkpoint needs its own size in memory, not twice that.
 */
export async function readSafetensors(path: string): Promise<SafetensorsFile> {
  let fh: FileHandle;
  try {
    fh = await fsp.open(path, 'r');
  } catch (err) {
    throw cannotRead(path, err);
  }
  try {
    const size = (await fh.stat()).size;
    const first8 = new Uint8Array(Math.min(8, size));
    await readFully(fh, first8, 0);
    if (path.endsWith('.gz') || (first8[0] === 0x1f && first8[1] === 0x8b)) {
      let bytes: Uint8Array;
      try {
        bytes = gunzipSync(await fh.readFile(), { maxOutputLength: inflateLimit(size) });
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE') throw inflateLimitError(path, 'gzip data', size);
        throw new InputError(path, `gzip data is corrupt or truncated (${(err as Error).message})`);
      }
      return parseSafetensors(path, bytes);
    }
    const n = headerLength(path, first8, size);
    const headerBytes = new Uint8Array(n);
    await readFully(fh, headerBytes, 8);
    const { entries, metadata } = parseHeader(path, headerBytes, size - 8 - n);
    const tensors = new Map<string, NamedTensor>();
    for (const e of entries) {
      const data = allocTyped(e.dtype, numel(e.shape));
      await readFully(fh, new Uint8Array(data.buffer), 8 + n + e.begin);
      tensors.set(e.key, { dtype: e.dtype, shape: e.shape, data });
    }
    return { tensors, metadata };
  } catch (err) {
    if (err instanceof InputError) throw err;
    throw cannotRead(path, err);
  } finally {
    await fh.close();
  }
}

// Python's json.dumps(..., sort_keys=True, separators=(',', ':')) escapes non-ASCII; match it byte for byte.
const jsonAscii = (v: unknown): string =>
  JSON.stringify(v).replace(/[\u007f-\uffff]/g, (c) => (c === '\u007f' ? c : '\\u' + c.charCodeAt(0).toString(16).padStart(4, '0')));

const byCodePoint = (a: string, b: string): number => {
  const x = [...a].map((c) => c.codePointAt(0)!);
  const y = [...b].map((c) => c.codePointAt(0)!);
  for (let i = 0; i < Math.min(x.length, y.length); i++) if (x[i] !== y[i]) return x[i]! - y[i]!;
  return x.length - y.length;
};

/** Serialize: header `{"__metadata__":{…},"<key>":{"data_offsets":[b,e],"dtype":…,"shape":[…]},…}` with keys
 * sorted, padded with spaces to a multiple of 8, then the tensors' bytes in key order. */
export function serializeSafetensors(
  tensors: Map<string, NamedTensor> | Record<string, NamedTensor>,
  metadata?: Record<string, string>,
): Uint8Array {
  const map = tensors instanceof Map ? tensors : new Map(Object.entries(tensors));
  const keys = [...map.keys()].sort(byCodePoint);
  const withMeta = metadata && Object.keys(metadata).length > 0;
  let metaPart = '';
  if (withMeta) {
    const mkeys = Object.keys(metadata).sort(byCodePoint);
    for (const k of mkeys) {
      if (typeof metadata[k] !== 'string') throw new InputError(`metadata.${k}`, 'safetensors metadata values must be strings');
    }
    metaPart = `"__metadata__":{${mkeys.map((k) => `${jsonAscii(k)}:${jsonAscii(metadata[k])}`).join(',')}}`;
  }
  const parts: string[] = [];
  let offset = 0;
  const chunks: Uint8Array[] = [];
  for (const key of keys) {
    if (key === '__metadata__') throw new InputError(key, 'a tensor cannot be named __metadata__');
    const t = map.get(key)!;
    if (!isDType(t.dtype)) throw new InputError(`tensor '${key}'`, `unsupported dtype ${JSON.stringify(t.dtype)}`);
    if (!(t.data instanceof ARRAY_FOR[t.dtype])) {
      throw new InputError(`tensor '${key}'`, `${t.dtype} data must be a ${ARRAY_FOR[t.dtype].name}, got ${t.data.constructor.name}`);
    }
    if (!t.shape.every((d) => Number.isSafeInteger(d) && d >= 0) || t.data.length !== numel(t.shape)) {
      throw new InputError(`tensor '${key}'`, `shape ${JSON.stringify(t.shape)} does not match ${t.data.length} elements`);
    }
    const bytes = new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength);
    parts.push(`${jsonAscii(key)}:{"data_offsets":[${offset},${offset + bytes.length}],"dtype":"${t.dtype}","shape":[${t.shape.join(',')}]}`);
    chunks.push(bytes);
    offset += bytes.length;
  }
  // `__metadata__` takes its sorted place among the keys, as json.dumps(sort_keys=True) puts it.
  if (withMeta) parts.splice(keys.filter((k) => byCodePoint(k, '__metadata__') < 0).length, 0, metaPart);
  let header = `{${parts.join(',')}}`;
  header += ' '.repeat((8 - (Buffer.byteLength(header) % 8)) % 8);
  const head = Buffer.from(header, 'utf8');
  const out = new Uint8Array(8 + head.length + offset);
  new DataView(out.buffer).setBigUint64(0, BigInt(head.length), true);
  out.set(head, 8);
  let pos = 8 + head.length;
  for (const c of chunks) {
    out.set(c, pos);
    pos += c.length;
  }
  return out;
}

/** Write atomically. A path ending in `.gz` is gzip-compressed (level 9, mtime 0, like the golden files). */
export async function writeSafetensors(
  path: string,
  tensors: Map<string, NamedTensor> | Record<string, NamedTensor>,
  metadata?: Record<string, string>,
): Promise<void> {
  const bytes = serializeSafetensors(tensors, metadata);
  await writeFileAtomic(path, path.endsWith('.gz') ? gzipSync(bytes, { level: 9 }) : bytes);
}

/** IEEE half-precision bits to a float. */
export function halfToFloat(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >> 10) & 0x1f;
  const frac = h & 0x3ff;
  if (exp === 0) return sign * frac * 2 ** -24;
  if (exp === 0x1f) return frac ? NaN : sign * Infinity;
  return sign * (1 + frac / 1024) * 2 ** (exp - 15);
}

/** Any numeric tensor as F32 (F16/BF16 widened exactly; F64 and integers rounded to the nearest float). */
export function toFloat32(t: NamedTensor): NamedTensor & { dtype: 'F32'; data: Float32Array } {
  const n = t.data.length;
  let out: Float32Array;
  switch (t.dtype) {
    case 'F32':
      return t as NamedTensor & { dtype: 'F32'; data: Float32Array };
    case 'F16': {
      out = new Float32Array(n);
      const src = t.data as Uint16Array;
      for (let i = 0; i < n; i++) out[i] = halfToFloat(src[i]!);
      break;
    }
    case 'BF16': {
      const bits = new Uint32Array(n);
      const src = t.data as Uint16Array;
      for (let i = 0; i < n; i++) bits[i] = src[i]! << 16;
      out = new Float32Array(bits.buffer);
      break;
    }
    case 'I64':
      out = Float32Array.from(t.data as BigInt64Array, (v) => Number(v));
      break;
    default:
      out = Float32Array.from(t.data as Float64Array | Int32Array | Uint8Array);
  }
  return { dtype: 'F32', shape: t.shape.slice(), data: out };
}
