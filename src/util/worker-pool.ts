// Worker threads that run tasks posted as `{id, task}` and answer `{id, result | error}`, least-loaded first;
// the loop a worker script runs to answer them (serveTasks); and the entry URL of a worker script that works compiled (dist/*.js) and from TypeScript sources (tsx).
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Worker, parentPort } from 'node:worker_threads';

/**
 * The worker script `<name>.js` beside `moduleUrl` when compiled; from sources (vitest, tsx), a tiny ESM
 * bootstrap that loads `<name>.ts` through tsx's `tsImport` (on Node 20, neither `execArgv: ['--import', 'tsx']`
 * nor registering tsx inside the worker applies to the worker's own entry file; tsImport does).
 */
export function workerEntry(moduleUrl: string, name: string): URL {
  const js = new URL(`./${name}.js`, moduleUrl);
  if (moduleUrl.endsWith('.js') && existsSync(fileURLToPath(js))) return js;
  const tsxDir = dirname(createRequire(moduleUrl).resolve('tsx/package.json'));
  const tsxApi = pathToFileURL(join(tsxDir, 'dist', 'esm', 'api', 'index.mjs')).href;
  const ts = JSON.stringify(new URL(`./${name}.ts`, moduleUrl).href);
  const boot = `const { tsImport } = await import(${JSON.stringify(tsxApi)}); await tsImport(${ts}, ${ts});`;
  return new URL(`data:text/javascript,${encodeURIComponent(boot)}`);
}

interface Pending<R> {
  resolve: (r: R) => void;
  reject: (e: Error) => void;
  worker: number;
}

/** A fixed set of worker threads; with `threads = 0` tasks run inline through `inline`. */
export class WorkerPool<T, R> {
  private readonly workers: Worker[] = [];
  private readonly load: number[] = [];
  private readonly pending = new Map<number, Pending<R>>();
  private nextId = 0;
  private failure: Error | null = null;

  constructor(
    readonly threads: number,
    entry: () => URL,
    private readonly inline: (task: T) => Promise<R>,
    private readonly label: string,
  ) {
    if (threads <= 0) return;
    const url = entry();
    for (let w = 0; w < threads; w++) {
      const worker = new Worker(url);
      worker.on('message', (msg: { id: number; result?: R; error?: string }) => {
        const p = this.pending.get(msg.id);
        if (!p) return;
        this.pending.delete(msg.id);
        this.load[p.worker]!--;
        if (msg.error !== undefined) p.reject(new Error(`${label}: ${msg.error}`));
        else p.resolve(msg.result!);
      });
      worker.on('error', (e) => this.fail(e));
      worker.on('exit', (code) => {
        if (code !== 0) this.fail(new Error(`${label} exited with code ${code}`));
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

  /** Runs a task on the least-loaded worker (inline when the pool has no threads). */
  run(task: T): Promise<R> {
    if (this.workers.length === 0) return this.inline(task);
    if (this.failure) return Promise.reject(this.failure);
    let w = 0;
    for (let i = 1; i < this.load.length; i++) if (this.load[i]! < this.load[w]!) w = i;
    const id = this.nextId++;
    this.load[w]!++;
    return new Promise<R>((resolve, reject) => {
      this.pending.set(id, { resolve, reject, worker: w });
      this.workers[w]!.postMessage({ id, task });
    });
  }

  async close(): Promise<void> {
    const ws = this.workers.splice(0);
    this.failure ??= new Error(`${this.label} closed`);
    await Promise.all(ws.map((w) => w.terminate()));
  }
}

/**
 * A worker script's side of the pool: runs each posted task through `run` and answers with its result (the
 * buffers `transfer` names are moved, not copied) or its error's stack.
 */
export function serveTasks<T, R>(run: (task: T) => Promise<R>, transfer: (result: R) => ArrayBuffer[] = () => []): void {
  parentPort!.on('message', (msg: { id: number; task: T }) => {
    run(msg.task).then(
      (result) => parentPort!.postMessage({ id: msg.id, result }, transfer(result)),
      (err: unknown) => parentPort!.postMessage({ id: msg.id, error: err instanceof Error ? (err.stack ?? err.message) : String(err) }),
    );
  });
}
