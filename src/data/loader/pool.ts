// A small pool of loader worker threads (or inline processing when threads = 0). Works from dist/ (.js) and
// from TypeScript sources under vitest/tsx (the .ts worker is started with `--import tsx`).
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import { processChunk, type ChunkResult, type ChunkTask } from './process-chunk.js';

interface Pending {
  resolve: (r: ChunkResult) => void;
  reject: (e: Error) => void;
  worker: number;
}

/**
 * The worker script beside this module: `worker.js` when compiled; from sources (vitest, tsx), a tiny ESM
 * bootstrap that loads `worker.ts` through tsx's `tsImport` (on Node 20, neither `execArgv: ['--import', 'tsx']`
 * nor registering tsx inside the worker applies to the worker's own entry file; tsImport does).
 */
function workerEntry(): URL {
  const js = new URL('./worker.js', import.meta.url);
  if (import.meta.url.endsWith('.js') && existsSync(fileURLToPath(js))) return js;
  const tsxDir = dirname(createRequire(import.meta.url).resolve('tsx/package.json'));
  const tsxApi = pathToFileURL(join(tsxDir, 'dist', 'esm', 'api', 'index.mjs')).href;
  const ts = JSON.stringify(new URL('./worker.ts', import.meta.url).href);
  const boot = `const { tsImport } = await import(${JSON.stringify(tsxApi)}); await tsImport(${ts}, ${ts});`;
  return new URL(`data:text/javascript,${encodeURIComponent(boot)}`);
}

export class ChunkPool {
  private readonly workers: Worker[] = [];
  private readonly load: number[] = [];
  private readonly pending = new Map<number, Pending>();
  private nextId = 0;
  private failure: Error | null = null;

  constructor(readonly threads: number) {
    if (threads <= 0) return;
    const url = workerEntry();
    for (let w = 0; w < threads; w++) {
      const worker = new Worker(url);
      worker.on('message', (msg: { id: number; result?: ChunkResult; error?: string }) => {
        const p = this.pending.get(msg.id);
        if (!p) return;
        this.pending.delete(msg.id);
        this.load[p.worker]!--;
        if (msg.error !== undefined) p.reject(new Error(`loader worker: ${msg.error}`));
        else p.resolve(msg.result!);
      });
      worker.on('error', (e) => this.fail(e));
      worker.on('exit', (code) => {
        if (code !== 0) this.fail(new Error(`loader worker exited with code ${code}`));
      });
      this.workers.push(worker);
      this.load.push(0);
    }
  }

  private fail(e: Error): void {
    this.failure ??= e;
    for (const [id, p] of this.pending) {
      this.pending.delete(id);
      p.reject(e);
    }
  }

  /** Runs a chunk on the least-loaded worker (inline when the pool has no threads). */
  run(task: ChunkTask): Promise<ChunkResult> {
    if (this.workers.length === 0) return processChunk(task);
    if (this.failure) return Promise.reject(this.failure);
    let w = 0;
    for (let i = 1; i < this.load.length; i++) if (this.load[i]! < this.load[w]!) w = i;
    const id = this.nextId++;
    this.load[w]!++;
    return new Promise<ChunkResult>((resolve, reject) => {
      this.pending.set(id, { resolve, reject, worker: w });
      this.workers[w]!.postMessage({ id, task });
    });
  }

  async close(): Promise<void> {
    const ws = this.workers.splice(0);
    this.failure ??= new Error('loader closed');
    await Promise.all(ws.map((w) => w.terminate()));
  }
}
