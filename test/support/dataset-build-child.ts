// A `dataset build` in a child process, for tests that kill it or weigh its heap.
//   dataset-build-child.ts SPEC OUT kill K   — SIGKILL itself once output shard K is in place
//   dataset-build-child.ts SPEC OUT probe    — (node --expose-gc) report the largest live heap after a full GC,
//     taken at every CLIP-score batch (pass 1, with a stub scorer) and after every output shard (pass 3)
import { buildDataset, loadSpec, type ClipScorer } from '../../src/data/curation/index.js';

const [specFile, out, mode, arg] = process.argv.slice(2) as [string, string, 'kill' | 'probe', string | undefined];
const { spec, baseDir } = loadSpec(specFile);
const gc = (globalThis as { gc?: () => void }).gc;
let maxHeap = 0;
const probe = (): void => {
  if (mode !== 'probe' || !gc) return;
  gc();
  maxHeap = Math.max(maxHeap, process.memoryUsage().heapUsed);
};
const stub: ClipScorer = {
  imageSize: 4,
  contextLength: 8,
  async score({ text, n }) {
    probe();
    return Float32Array.from({ length: n }, (_, i) => (Number(text[i * 8 + 1]!) % 101) / 101);
  },
};
const r = await buildDataset({
  spec,
  baseDir,
  out,
  clipScorerFactory: async () => stub,
  onShard: (_info, done) => {
    probe();
    if (mode === 'kill' && done === Number(arg)) process.kill(process.pid, 'SIGKILL');
  },
});
process.stdout.write(JSON.stringify({ total: r.manifest.total, resumed: r.resumed, maxHeap }) + '\n');
