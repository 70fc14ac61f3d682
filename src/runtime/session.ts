// The only importer of onnxruntime-node: sessions from built graphs, named feeds, pre-allocated outputs.
import ort from 'onnxruntime-node';
import { createRequire } from 'node:module';
import { existsSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { RuntimeError } from '../util/errors.js';
import { type Graph, type HostData, toOnnxBytes } from '../graph/index.js';
import type { DType, Shape } from '../graph/index.js';
import { shapeStr } from '../graph/types.js';

export interface HostTensor {
  data: HostData;
  shape: number[];
}

export type Device = 'cpu' | 'cuda';

export interface SessionOptions {
  /** Intra-op threads (default: ORT's choice, all cores). */
  threads?: number;
  device?: Device;
  /** ORT graph optimizations (default on). */
  optimize?: boolean;
  /** Where ORT writes its optimized model, for debugging. */
  optimizedModelPath?: string;
  /**
   * Let intra-op threads busy-wait between ops (ORT's default, on). Off costs a little on an idle
   * machine and saves a lot on a shared one, where spinning threads steal the cores that do the work.
   */
  spinning?: boolean;
  /**
   * ORT's CPU arena (default on): memory freed by one run is kept for the next. Off, large buffers go back to the
   * system after each run.
   */
  cpuArena?: boolean;
  /**
   * ORT's memory pattern (default on): after the first run, each run takes its planned peak as one block. With the
   * arena on, that block comes on top of the chunks the first run left in the arena.
   */
  memoryPattern?: boolean;
}

interface Signature {
  name: string;
  dtype: DType;
  shape: Shape;
}

const ORT_TYPE: Record<DType, ort.Tensor.Type> = { float32: 'float32', float64: 'float64', int64: 'int64', int32: 'int32', bool: 'bool' };

function dtypeOf(data: HostData): DType {
  if (data instanceof Float32Array) return 'float32';
  if (data instanceof Float64Array) return 'float64';
  if (data instanceof BigInt64Array) return 'int64';
  if (data instanceof Int32Array) return 'int32';
  return 'bool';
}

export function allocate(dtype: DType, shape: number[]): HostTensor {
  const n = shape.reduce((a, b) => a * b, 1);
  const data =
    dtype === 'float32' ? new Float32Array(n)
    : dtype === 'float64' ? new Float64Array(n)
    : dtype === 'int64' ? new BigInt64Array(n)
    : dtype === 'int32' ? new Int32Array(n)
    : new Uint8Array(n);
  return { data, shape };
}

/**
 * Whether ORT's CUDA provider library is installed beside the binding. `listSupportedBackends()` lists
 * 'cuda' on every linux-x64 build (it is not bundled), so look for the provider's shared library.
 */
export async function cudaAvailable(): Promise<boolean> {
  try {
    const binDir = dirname(createRequire(import.meta.url).resolve('onnxruntime-node/package.json'));
    const dirs = readdirSync(join(binDir, 'bin')).map((d) => join(binDir, 'bin', d, process.platform, process.arch));
    return dirs.some((d) => existsSync(join(d, 'libonnxruntime_providers_cuda.so')));
  } catch {
    return false;
  }
}

/**
 * onnxruntime-node returns every fetched output as a new array: a copy, even of an output ORT wrote into a buffer
 * given for it. The copy is garbage once the run returns, but V8 frees it only at its next collection, so a caller
 * that fetches large outputs run after run (a training step's state) holds several such copies at once unless it
 * collects. `releaseFetched()` collects when more than COLLECT_AFTER bytes were fetched since the last collection.
 */
const COLLECT_AFTER = 128 * 1024 * 1024;
const fetched = { sinceCollect: 0, largestRun: 0 };
let gc: (() => void) | undefined;

/** Collects the copies of fetched outputs if enough have piled up (a full GC: milliseconds on a small heap). */
export async function releaseFetched(): Promise<void> {
  if (fetched.sinceCollect < COLLECT_AFTER) return;
  // The last run's result stays reachable until the promise machinery lets go of it, one macrotask later.
  await new Promise((r) => setImmediate(r));
  // As jest's leak detector does: expose V8's gc without a command-line flag.
  if (!gc) {
    setFlagsFromString('--expose-gc');
    gc = runInNewContext('gc') as () => void;
  }
  gc();
  fetched.sinceCollect = 0;
}

/** The most bytes one run has fetched in this process (the size of its transient copy). */
export function largestFetchBytes(): number {
  return fetched.largestRun;
}

export class Session {
  private constructor(
    private readonly ort: ort.InferenceSession,
    readonly inputs: Signature[],
    readonly outputs: Signature[],
    readonly device: Device,
  ) {}

  static async create(graph: Graph, opts: SessionOptions = {}): Promise<Session> {
    const device = opts.device ?? 'cpu';
    if (device === 'cuda' && !(await cudaAvailable())) {
      throw new RuntimeError(
        "--device cuda: onnxruntime-node's CUDA provider is not installed (see README, 'GPU (CUDA)')",
      );
    }
    const bytes = toOnnxBytes(graph);
    const so: ort.InferenceSession.SessionOptions = {
      graphOptimizationLevel: opts.optimize === false ? 'disabled' : 'all',
      executionProviders: device === 'cuda' ? ['cuda', 'cpu'] : ['cpu'],
      logSeverityLevel: 3,
    };
    if (opts.threads) {
      so.intraOpNumThreads = opts.threads;
      so.interOpNumThreads = 1;
    }
    if (opts.optimizedModelPath) so.optimizedModelFilePath = opts.optimizedModelPath;
    if (opts.cpuArena === false) so.enableCpuMemArena = false;
    if (opts.memoryPattern === false) so.enableMemPattern = false;
    if (opts.spinning === false) so.extra = { session: { intra_op: { allow_spinning: '0' }, inter_op: { allow_spinning: '0' } } };
    let s: ort.InferenceSession;
    try {
      s = await ort.InferenceSession.create(bytes, so);
    } catch (e) {
      throw new RuntimeError(`onnxruntime rejected graph '${graph.name}': ${(e as Error).message}`);
    }
    const usedInputs = new Set(s.inputNames);
    const inputs = graph.inputs
      .filter((i) => usedInputs.has(i.name))
      .map((i) => ({ name: i.name, dtype: i.tensor.dtype, shape: i.tensor.shape }));
    const outputs = graph.outputs.map((o) => ({ name: o.name, dtype: o.tensor.dtype, shape: o.tensor.shape }));
    return new Session(s, inputs, outputs, device);
  }

  /**
   * Run with named feeds. `into` names pre-allocated output buffers ORT writes in place (state updated
   * without allocation, in place or into a spare set); other outputs are allocated by ORT. Either way the
   * binding also returns a copy of each fetched output (see releaseFetched).
   */
  async run(feeds: Record<string, HostTensor>, into: Record<string, HostTensor> = {}, only?: string[]): Promise<Record<string, HostTensor>> {
    const ortFeeds: Record<string, ort.Tensor> = {};
    for (const sig of this.inputs) {
      const f = feeds[sig.name];
      if (!f) throw new RuntimeError(`missing feed '${sig.name}' (${sig.dtype}${shapeStr(sig.shape)})`);
      checkFeed(sig, f);
      ortFeeds[sig.name] = new ort.Tensor(ORT_TYPE[sig.dtype], f.data as never, f.shape);
    }
    const wanted = only ?? this.outputs.map((o) => o.name);
    const fetches: Record<string, ort.OnnxValue | null> = {};
    for (const name of wanted) {
      const pre = into[name];
      fetches[name] = pre ? new ort.Tensor(ORT_TYPE[dtypeOf(pre.data)], pre.data as never, pre.shape) : null;
    }
    let res: ort.InferenceSession.ReturnType;
    try {
      res = await this.ort.run(ortFeeds, fetches as never);
    } catch (e) {
      throw new RuntimeError(`onnxruntime run failed: ${(e as Error).message}`);
    }
    const out: Record<string, HostTensor> = {};
    let bytes = 0;
    for (const name of wanted) {
      const t = res[name] as ort.Tensor;
      bytes += (t.data as HostData).byteLength;
      const pre = into[name];
      out[name] = pre ?? { data: t.data as HostData, shape: [...t.dims] };
    }
    fetched.sinceCollect += bytes;
    fetched.largestRun = Math.max(fetched.largestRun, bytes);
    return out;
  }

  async release(): Promise<void> {
    await this.ort.release();
  }
}

function checkFeed(sig: Signature, f: HostTensor): void {
  const dt = dtypeOf(f.data);
  if (dt !== sig.dtype && !(sig.dtype === 'bool' && f.data instanceof Uint8Array))
    throw new RuntimeError(`feed '${sig.name}': expected ${sig.dtype}, got ${dt}`);
  if (f.shape.length !== sig.shape.length || f.shape.some((d, i) => typeof sig.shape[i] === 'number' && sig.shape[i] !== d))
    throw new RuntimeError(`feed '${sig.name}': expected shape ${shapeStr(sig.shape)}, got ${shapeStr(f.shape)}`);
  const n = f.shape.reduce((a, b) => a * b, 1);
  if (n !== f.data.length) throw new RuntimeError(`feed '${sig.name}': shape ${shapeStr(f.shape)} needs ${n} values, got ${f.data.length}`);
}
