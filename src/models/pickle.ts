// A confined Python unpickler, hand-written: it knows the ~45 opcodes `torch.save` and `pickle` protocols 2–5
// emit for data and resolves a global only through the caller's allowlist, refusing any other by name; it
// never calls anything the file names. (The npm parsers we looked at either resolve unknown globals to
// stand-ins and call whatever REDUCE finds on the stack, or copy attacker-chosen keys onto objects; confining
// them means auditing every such path, while a state dict needs only this small, bounds-checked subset.)
import { InputError } from '../util/errors.js';

/** A Python value as the unpickler builds it: dicts are Maps, tuples and lists arrays, bytes Uint8Arrays. */
export type PyValue =
  | null
  | boolean
  | number
  | bigint
  | string
  | Uint8Array
  | PyValue[]
  | Map<PyValue, PyValue>
  | PyGlobal
  | { readonly [k: string]: unknown };

/** A global the allowlist let through: `call` is what REDUCE / NEWOBJ on it does (a plain JS function). */
export interface PyGlobal {
  readonly kind: 'global';
  readonly name: string;
  readonly call?: (args: PyValue[]) => PyValue;
  /** BUILD on an instance this global made (e.g. OrderedDict's `_metadata`); default: refused. */
  readonly build?: (obj: PyValue, state: PyValue) => void;
}

export interface UnpickleOptions {
  /** `module.name` → what it stands for. Anything else is refused before it could be used. */
  globals: ReadonlyMap<string, PyGlobal>;
  /** BINPERSID: the persistent id tuple → its object (torch: a storage). */
  persistentLoad?: (pid: PyValue) => PyValue;
  /** Names the file in errors. */
  where: string;
}

const MARK = Symbol('mark');
type Slot = PyValue | typeof MARK;

export function isGlobal(v: unknown): v is PyGlobal {
  return typeof v === 'object' && v !== null && (v as { kind?: unknown }).kind === 'global';
}

/**
 * Unpickles `bytes`; throws InputError naming the file, the offset and the opcode or global at fault.
 * One function on purpose: it is the pickle machine's dispatch loop (one case per opcode over one stack, memo
 * and cursor), which reads top to bottom against the opcode table; split up, every case would need the state.
 */
export function unpickle(bytes: Uint8Array, o: UnpickleOptions): PyValue {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const text = new TextDecoder('utf-8', { fatal: true });
  let pos = 0;
  let op = 0;
  let at = 0;
  const fail = (msg: string): never => {
    throw new InputError(o.where, `pickle at byte ${at} (opcode 0x${op.toString(16).padStart(2, '0')}): ${msg}`);
  };
  const need = (n: number): number => {
    if (!Number.isSafeInteger(n) || n < 0 || pos + n > bytes.length) fail(`needs ${n} more bytes, the pickle ends at ${bytes.length}`);
    const p = pos;
    pos += n;
    return p;
  };
  const u8 = (): number => bytes[need(1)]!;
  const u16 = (): number => view.getUint16(need(2), true);
  const u32 = (): number => view.getUint32(need(4), true);
  const u64 = (): number => {
    const v = view.getBigUint64(need(8), true);
    if (v > BigInt(Number.MAX_SAFE_INTEGER)) fail(`length ${v} is too large`);
    return Number(v);
  };
  const take = (n: number): Uint8Array => bytes.slice(need(n), pos);
  const str = (n: number): string => {
    const p = need(n);
    try {
      return text.decode(bytes.subarray(p, pos));
    } catch {
      return fail('string is not valid UTF-8');
    }
  };
  const latin1 = (n: number): string => String.fromCharCode(...bytes.subarray(need(n), pos));
  const line = (): string => {
    const end = bytes.indexOf(0x0a, pos);
    if (end < 0) fail('unterminated line');
    return latin1(end - pos + 1).slice(0, -1);
  };
  /** Little-endian two's complement (LONG1 / LONG4). */
  const long = (n: number): number | bigint => {
    const b = bytes.subarray(need(n), pos);
    let v = 0n;
    for (let i = b.length - 1; i >= 0; i--) v = (v << 8n) | BigInt(b[i]!);
    if (b.length > 0 && b[b.length - 1]! & 0x80) v -= 1n << BigInt(8 * b.length);
    return v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v;
  };

  let stack: Slot[] = [];
  const marks: Slot[][] = [];
  const memo = new Map<number, PyValue>();
  const builtBy = new WeakMap<object, PyGlobal>();
  const pop = (): PyValue => {
    if (stack.length === 0) fail('stack underflow');
    const v = stack.pop()!;
    if (v === MARK) fail('unexpected MARK');
    return v as PyValue;
  };
  const top = (): PyValue => {
    const v = stack[stack.length - 1];
    if (v === undefined || v === MARK) fail('stack underflow');
    return v as PyValue;
  };
  const popMark = (): PyValue[] => {
    const items = stack;
    if (marks.length === 0) fail('no MARK to pop to');
    stack = marks.pop()!;
    return items as PyValue[];
  };
  const resolve = (module: string, name: string): PyGlobal => {
    const g = o.globals.get(`${module}.${name}`);
    if (!g) fail(`refusing global '${module}.${name}': not one of the ${o.globals.size} a state dict needs (cliplab never runs code from a checkpoint)`);
    return g!;
  };
  const asMap = (v: PyValue, what: string): Map<PyValue, PyValue> => (v instanceof Map ? v : fail(`${what} on a ${typeName(v)}, not a dict`));
  const asList = (v: PyValue, what: string): PyValue[] => (Array.isArray(v) ? v : fail(`${what} on a ${typeName(v)}, not a list`));
  const call = (f: PyValue, args: PyValue, what: string): PyValue => {
    if (!isGlobal(f) || !f.call) fail(`${what} on ${isGlobal(f) ? `'${f.name}', which cannot be called` : `a ${typeName(f)}`}`);
    if (!Array.isArray(args)) fail(`${what} arguments are a ${typeName(args)}, not a tuple`);
    const made = (f as PyGlobal).call!(args as PyValue[]);
    // Remember which global made the object, so BUILD can ask it (and only it) to take a state.
    if (typeof made === 'object' && made !== null) builtBy.set(made, f as PyGlobal);
    return made;
  };
  const setItems = (d: Map<PyValue, PyValue>, kv: PyValue[]): void => {
    if (kv.length % 2) fail('odd number of items for a dict');
    for (let i = 0; i < kv.length; i += 2) d.set(kv[i]!, kv[i + 1]!);
  };

  while (pos < bytes.length) {
    at = pos;
    op = bytes[pos++]!;
    switch (op) {
      case 0x80: { // PROTO
        const v = u8();
        if (v > 5) fail(`protocol ${v} is newer than 5`);
        break;
      }
      case 0x95: need(8); break; // FRAME: a length hint only
      case 0x2e: { // STOP
        const v = pop();
        if (stack.length || marks.length) fail('items left on the stack at STOP');
        return v;
      }
      case 0x28: marks.push(stack); stack = []; break; // MARK
      case 0x30: pop(); break; // POP
      case 0x31: popMark(); break; // POP_MARK
      case 0x32: stack.push(top()); break; // DUP
      case 0x71: memo.set(u8(), top()); break; // BINPUT
      case 0x72: memo.set(u32(), top()); break; // LONG_BINPUT
      case 0x94: memo.set(memo.size, top()); break; // MEMOIZE
      case 0x68: case 0x6a: { // BINGET, LONG_BINGET
        const k = op === 0x68 ? u8() : u32();
        if (!memo.has(k)) fail(`memo key ${k} was never stored`);
        stack.push(memo.get(k)!);
        break;
      }
      case 0x4e: stack.push(null); break; // NONE
      case 0x88: stack.push(true); break; // NEWTRUE
      case 0x89: stack.push(false); break; // NEWFALSE
      case 0x4b: stack.push(u8()); break; // BININT1
      case 0x4d: stack.push(u16()); break; // BININT2
      case 0x4a: stack.push(view.getInt32(need(4), true)); break; // BININT
      case 0x8a: stack.push(long(u8())); break; // LONG1
      case 0x8b: stack.push(long(u32())); break; // LONG4
      case 0x47: stack.push(view.getFloat64(need(8), false)); break; // BINFLOAT (big-endian)
      case 0x58: stack.push(str(u32())); break; // BINUNICODE
      case 0x8c: stack.push(str(u8())); break; // SHORT_BINUNICODE
      case 0x8d: stack.push(str(u64())); break; // BINUNICODE8
      case 0x55: stack.push(latin1(u8())); break; // SHORT_BINSTRING
      case 0x54: stack.push(latin1(u32())); break; // BINSTRING
      case 0x43: stack.push(take(u8())); break; // SHORT_BINBYTES
      case 0x42: stack.push(take(u32())); break; // BINBYTES
      case 0x8e: stack.push(take(u64())); break; // BINBYTES8
      case 0x29: stack.push([]); break; // EMPTY_TUPLE
      case 0x74: { const t = popMark(); stack.push(t); break; } // TUPLE (popMark replaces `stack`)
      case 0x85: stack.push([pop()]); break; // TUPLE1
      case 0x86: { const b = pop(); stack.push([pop(), b]); break; } // TUPLE2
      case 0x87: { const c = pop(); const b = pop(); stack.push([pop(), b, c]); break; } // TUPLE3
      case 0x5d: stack.push([]); break; // EMPTY_LIST
      case 0x6c: { const l = popMark(); stack.push(l); break; } // LIST
      case 0x61: { const v = pop(); asList(top(), 'APPEND').push(v); break; } // APPEND
      case 0x65: { const items = popMark(); asList(top(), 'APPENDS').push(...items); break; } // APPENDS
      case 0x7d: stack.push(new Map()); break; // EMPTY_DICT
      case 0x64: { const d = new Map<PyValue, PyValue>(); setItems(d, popMark()); stack.push(d); break; } // DICT
      case 0x73: { const v = pop(); const k = pop(); asMap(top(), 'SETITEM').set(k, v); break; } // SETITEM
      case 0x75: { const kv = popMark(); setItems(asMap(top(), 'SETITEMS'), kv); break; } // SETITEMS
      case 0x63: { const module = line(); stack.push(resolve(module, line())); break; } // GLOBAL
      case 0x93: { // STACK_GLOBAL
        const name = pop();
        const module = pop();
        if (typeof module !== 'string' || typeof name !== 'string') fail('STACK_GLOBAL needs two strings');
        stack.push(resolve(module as string, name as string));
        break;
      }
      case 0x52: { const args = pop(); stack.push(call(pop(), args, 'REDUCE')); break; } // REDUCE
      case 0x81: { const args = pop(); stack.push(call(pop(), args, 'NEWOBJ')); break; } // NEWOBJ
      case 0x62: { // BUILD
        const state = pop();
        const obj = top();
        const maker = builtBy.get(obj as object);
        if (!maker?.build) fail(`BUILD on a ${typeName(obj)} that no allowed global made`);
        maker!.build!(obj, state);
        break;
      }
      case 0x51: { // BINPERSID
        if (!o.persistentLoad) fail('persistent ids are not expected here');
        stack.push(o.persistentLoad!(pop()));
        break;
      }
      default:
        fail(`unsupported opcode (a state dict written by torch.save does not use it)`);
    }
  }
  return fail('the pickle ends without STOP');
}

/** A global for the allowlist: what REDUCE/NEWOBJ on it returns, and what BUILD on its instances does. */
export function pyGlobal(name: string, call?: PyGlobal['call'], build?: PyGlobal['build']): PyGlobal {
  return { kind: 'global', name, ...(call ? { call } : {}), ...(build ? { build } : {}) };
}

function typeName(v: unknown): string {
  if (v === null) return 'None';
  if (Array.isArray(v)) return 'tuple/list';
  if (v instanceof Map) return 'dict';
  if (v instanceof Uint8Array) return 'bytes';
  if (isGlobal(v)) return `global '${v.name}'`;
  return typeof v === 'object' ? 'object' : typeof v;
}
