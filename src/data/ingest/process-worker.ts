// Entry of one `ingest --processes N` worker process: runs its share of the chunks and reports rows, finished
// shards and the outcome to the parent over IPC (see processes.ts).
import { InputError } from '../../util/errors.js';
import { ingestShare } from './ingest.js';
import type { WorkerMessage, WorkerOptions } from './processes.js';

const send = (m: WorkerMessage): Promise<void> => new Promise((resolve) => process.send!(m, undefined, {}, () => resolve()));
const controller = new AbortController();
let rows = 0;
// Rows are reported in batches: one IPC message per row would cost more than the row.
const timer = setInterval(() => {
  if (rows > 0) void send({ type: 'progress', rows });
  rows = 0;
}, 200);

process.on('message', (m: { type: 'start'; options: WorkerOptions } | { type: 'abort' }) => {
  if (m.type === 'abort') return controller.abort(new Error('aborted'));
  ingestShare({ ...m.options, progress: false, signal: controller.signal, onRow: () => rows++, onShardDone: (stats) => void send({ type: 'shard', stats }) })
    .then(async (r) => {
      clearInterval(timer);
      if (rows > 0) await send({ type: 'progress', rows });
      await send({ type: 'done', rows: r.timing.rowsThisRun, chunks: r.chunks, skipped: r.skipped });
      process.exit(0);
    })
    .catch(async (e: unknown) => {
      clearInterval(timer);
      const where = e instanceof InputError ? e.where : undefined;
      const message = (e as Error).message ?? String(e);
      await send({ type: 'error', message: where ? message.slice(where.length + 2) : message, what: where });
      process.exit(1);
    });
});
