// AdamW's update of flat parameter, moment and gradient buffers as a WebAssembly SIMD loop, assembled here from
// its opcodes (no toolchain needed to build it). Hand-written for speed: ORT ran the update as a dozen elementwise
// kernels per cache-sized chunk and returned every output as a copy, 17 ns per value on a 2-core VM (a third of a
// ViT-B-32 step at batch 8); this loop makes one pass over p, m, v and g in place, about 2 ns per value. Exact:
// each operation is the float32 operation of addAdamW's graph (src/nn/adamw.ts), in its order, and f32x4 add, sub,
// mul, div and sqrt round every lane as IEEE float32 does, as ORT's CPU kernels do; flat-adamw.test.ts compares
// the two bit for bit.
//
// One call updates the blocks [b0, b1) of BLOCK values. A block whose live flag (one byte each) is 0 is idle: its
// gradient and both moments have been +0 so far, and its update is p · decay alone (flat-adamw.ts says why). It
// turns live, for good, when its gradient has any bit set; with `all` every block is treated as live and marked so.

/** Values per block; block starts are 256-byte aligned. */
export const BLOCK = 64;
const BLOCK_BYTES = BLOCK * 4;
/** Largest WebAssembly memory (32-bit addresses). */
export const MAX_KERNEL_BYTES = 2 ** 32;

/** The scalars of one update, each a float32 value (fround already applied). */
export interface KernelScalars {
  beta1: number;
  oneMinusBeta1: number;
  beta2: number;
  oneMinusBeta2: number;
  eps: number;
  /** lr / (1 − β1^t) */
  stepSize: number;
  /** 1 − lr·wd, or 1 (exact: x·1 = x) for a parameter without decay */
  decay: number;
  /** √(1 − β2^t) */
  bc2Sqrt: number;
  /** the gradient-clipping factor, or 1 */
  coef: number;
}

/** Byte offsets in the kernel's memory of the four float buffers and the live flags. */
export interface KernelBuffers {
  p: number;
  m: number;
  v: number;
  g: number;
  live: number;
}

type Update = (p: number, m: number, v: number, g: number, live: number, b0: number, b1: number, all: number, ...s: number[]) => void;

export class AdamWKernel {
  private constructor(
    readonly memory: WebAssembly.Memory,
    private readonly fn: Update,
  ) {}

  /** A kernel whose memory holds `bytes` (at most MAX_KERNEL_BYTES), zero-filled. */
  static create(bytes: number): AdamWKernel {
    const pages = Math.max(1, Math.ceil(bytes / 65536));
    if (pages > MAX_KERNEL_BYTES / 65536) throw new RangeError(`AdamW kernel: ${bytes} bytes exceed WebAssembly's 4 GiB`);
    const memory = new WebAssembly.Memory({ initial: pages });
    const instance = new WebAssembly.Instance(new WebAssembly.Module(MODULE), { env: { memory } });
    return new AdamWKernel(memory, instance.exports.update as Update);
  }

  update(at: KernelBuffers, b0: number, b1: number, all: boolean, s: KernelScalars): void {
    const f = Math.fround;
    this.fn(at.p, at.m, at.v, at.g, at.live, b0, b1, all ? 1 : 0,
      f(s.beta1), f(s.oneMinusBeta1), f(s.beta2), f(s.oneMinusBeta2), f(s.eps), f(s.stepSize), f(s.decay), f(s.bc2Sqrt), f(s.coef));
  }
}

// ------------------------------------------------------------------------------------------ the module's bytes

const uleb = (n: number): number[] => {
  const out: number[] = [];
  do {
    let b = n & 0x7f;
    n >>>= 7;
    if (n) b |= 0x80;
    out.push(b);
  } while (n);
  return out;
};
const sleb = (n: number): number[] => {
  const out: number[] = [];
  for (;;) {
    const b = n & 0x7f;
    n >>= 7;
    if ((n === 0 && !(b & 0x40)) || (n === -1 && b & 0x40)) return [...out, b];
    out.push(b | 0x80);
  }
};
const name = (s: string): number[] => [...uleb(s.length), ...Buffer.from(s, 'utf8')];
const vec = (items: number[][]): number[] => [...uleb(items.length), ...items.flat()];
const section = (id: number, body: number[]): number[] => [id, ...uleb(body.length), ...body];

const T = { i32: 0x7f, f32: 0x7d, v128: 0x7b } as const;
const simd = (op: number): number[] => [0xfd, ...uleb(op)];
const op = {
  get: (i: number) => [0x20, ...uleb(i)],
  set: (i: number) => [0x21, ...uleb(i)],
  i32: (n: number) => [0x41, ...sleb(n)],
  add: [0x6a], mul: [0x6c], geU: [0x4f], eqz: [0x45],
  load8: [0x2d, 0, 0], store8: [0x3a, 0, 0],
  block: [0x02, 0x40], loop: [0x03, 0x40], if: [0x04, 0x40], else: [0x05], end: [0x0b],
  br: (d: number) => [0x0c, d], brIf: (d: number) => [0x0d, d],
  load: [...simd(0x00), 4, 0], store: [...simd(0x0b), 4, 0],
  splat: simd(0x13), or: simd(0x50), anyTrue: simd(0x53), zero: [0x41, 0, ...simd(0x11)], // i32x4.splat(0)
  sqrt: simd(0xe3), fadd: simd(0xe4), fsub: simd(0xe5), fmul: simd(0xe6), fdiv: simd(0xe7),
};

// Parameters: 0 p, 1 m, 2 v, 3 g, 4 live (byte offsets), 5 b0, 6 b1, 7 all, 8–16 the scalars in KernelScalars' order.
const [P, M, V, G, LIVE, B0, B1, ALL] = [0, 1, 2, 3, 4, 5, 6, 7];
const SCALARS = 9;
// Locals: the block, the byte offset in it and the block's end, then the scalars splatted, then temporaries.
const [BLK, OFF, END] = [17, 18, 19];
const splat = (k: number) => 20 + k; // k: index into KernelScalars' order
const [BETA1, ONE_M_B1, BETA2, ONE_M_B2, EPS, STEP, DECAY, BC2, COEF] = [0, 1, 2, 3, 4, 5, 6, 7, 8].map(splat) as number[];
const [GV, M2, V2, ACC] = [29, 30, 31, 32];

const at = (base: number) => [...op.get(base), ...op.get(OFF), ...op.add];
const liveFlag = [...op.get(LIVE), ...op.get(BLK), ...op.add];
/** for OFF from the block's start to its end, step 16 bytes: body */
const overBlock = (body: number[]) => [
  ...op.get(BLK), ...op.i32(BLOCK_BYTES), ...op.mul, ...op.set(OFF),
  ...op.get(OFF), ...op.i32(BLOCK_BYTES), ...op.add, ...op.set(END),
  ...op.block, ...op.loop,
  ...op.get(OFF), ...op.get(END), ...op.geU, ...op.brIf(1),
  ...body,
  ...op.get(OFF), ...op.i32(16), ...op.add, ...op.set(OFF),
  ...op.br(0), ...op.end, ...op.end,
];

// addAdamW's line, per lane: g' = g·coef; m' = m·β1 + g'·(1−β1); v' = v·β2 + (g'·(1−β2))·g';
// p' = p·decay − step·(m' / (√v' / bc2 + eps)).
const adamwVector = [
  ...at(G), ...op.load, ...op.get(COEF), ...op.fmul, ...op.set(GV),
  ...at(M), ...op.load, ...op.get(BETA1), ...op.fmul, ...op.get(GV), ...op.get(ONE_M_B1), ...op.fmul, ...op.fadd, ...op.set(M2),
  ...at(V), ...op.load, ...op.get(BETA2), ...op.fmul, ...op.get(GV), ...op.get(ONE_M_B2), ...op.fmul, ...op.get(GV), ...op.fmul, ...op.fadd, ...op.set(V2),
  ...at(M), ...op.get(M2), ...op.store,
  ...at(V), ...op.get(V2), ...op.store,
  ...at(P),
  ...at(P), ...op.load, ...op.get(DECAY), ...op.fmul,
  ...op.get(STEP), ...op.get(M2), ...op.get(V2), ...op.sqrt, ...op.get(BC2), ...op.fdiv, ...op.get(EPS), ...op.fadd, ...op.fdiv, ...op.fmul,
  ...op.fsub, ...op.store,
];
const decayVector = [...at(P), ...at(P), ...op.load, ...op.get(DECAY), ...op.fmul, ...op.store];
const orGradient = [...op.get(ACC), ...at(G), ...op.load, ...op.or, ...op.set(ACC)];

const body = [
  ...[0, 1, 2, 3, 4, 5, 6, 7, 8].flatMap((k) => [...op.get(8 + k), ...op.splat, ...op.set(splat(k))]),
  ...op.get(B0), ...op.set(BLK),
  ...op.block, ...op.loop,
  ...op.get(BLK), ...op.get(B1), ...op.geU, ...op.brIf(1),
  // all: mark live; else an idle block with any gradient bit set turns live.
  ...op.get(ALL), ...op.if,
  ...liveFlag, ...op.i32(1), ...op.store8,
  ...op.else,
  ...liveFlag, ...op.load8, ...op.eqz, ...op.if,
  ...op.zero, ...op.set(ACC),
  ...overBlock(orGradient),
  ...op.get(ACC), ...op.anyTrue, ...op.if, ...liveFlag, ...op.i32(1), ...op.store8, ...op.end,
  ...op.end,
  ...op.end,
  ...liveFlag, ...op.load8, ...op.if,
  ...overBlock(adamwVector),
  ...op.else,
  ...overBlock(decayVector),
  ...op.end,
  ...op.get(BLK), ...op.i32(1), ...op.add, ...op.set(BLK),
  ...op.br(0), ...op.end, ...op.end,
  ...op.end,
];
const locals = vec([[...uleb(3), T.i32], [...uleb(SCALARS + 4), T.v128]]);
const code = [...locals, ...body];
const params = [...Array(8).fill(T.i32), ...Array(SCALARS).fill(T.f32)] as number[];

const MODULE = new Uint8Array([
  0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
  ...section(1, vec([[0x60, ...vec(params.map((t) => [t])), 0]])), // type: (8 × i32, 9 × f32) → ()
  ...section(2, vec([[...name('env'), ...name('memory'), 0x02, 0x00, 0x01]])), // import env.memory, min 1 page
  ...section(3, vec([[0]])),
  ...section(7, vec([[...name('update'), 0x00, 0x00]])),
  ...section(10, vec([[...uleb(code.length), ...code]])),
]);
