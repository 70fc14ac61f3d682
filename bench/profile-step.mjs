// ORT's profile of one training step, summed per ONNX op type and per cliplab op (node names carry the cliplab
// op and builder scope), so a change to an op's emission or VJP can be judged by where the step's time goes.
//
//   npm run build && taskset -c 1 node bench/profile-step.mjs RN-Tiny-64 128 4 [threads]
//
// The first run is left out. Kernel times only: the binding's copies of fetched outputs are not in them. The
// profile is of the step graph (forward, loss, backward); AdamW runs after it in its own chunked sessions.
import ort from 'onnxruntime-node';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
const dist = new URL('../dist/', import.meta.url);
const { loadModelConfig } = await import(new URL('models/config.js', dist));
const { initClip } = await import(new URL('models/clip.js', dist));
const { buildTrainGraph } = await import(new URL('train/train-graph.js', dist));
const { toOnnxBytes } = await import(new URL('graph/index.js', dist));

const [model = 'RN-Tiny-64', batch = '128', runs = '4', threads = '1'] = process.argv.slice(2);
const B = Number(batch);
const cfg = loadModelConfig(model);
const adamw = { beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0.2 };
const tg = buildTrainGraph(cfg, { batchSize: B, adamw });
const state = initClip(cfg, 0);
const dir = mkdtempSync(join(tmpdir(), 'cliplab-profile-'));
const s = await ort.InferenceSession.create(toOnnxBytes(tg.graph), {
  intraOpNumThreads: Number(threads), interOpNumThreads: 1, graphOptimizationLevel: 'all', enableMemPattern: false,
  enableProfiling: true, profileFilePrefix: join(dir, 'prof'), extra: { session: { intra_op: { allow_spinning: '0' } } },
});
const S = cfg.vision_cfg.image_size;
const ctx = cfg.text_cfg.context_length;
const feeds = { images: new ort.Tensor('float32', Float32Array.from({ length: B * 3 * S * S }, (_, i) => Math.sin(i)), [B, 3, S, S]) };
const text = new BigInt64Array(B * ctx);
for (let i = 0; i < B; i++) [text[i * ctx], text[i * ctx + 1], text[i * ctx + 2]] = [49406n, BigInt(1 + i), 49407n];
feeds.text = new ort.Tensor('int64', text, [B, ctx]);
for (const i of tg.graph.inputs) if (!feeds[i.name] && state.has(i.name)) feeds[i.name] = new ort.Tensor('float32', state.get(i.name), i.tensor.shape);
for (let n = 1; n <= Number(runs); n++) await s.run(feeds);
s.endProfiling();
await s.release();
const file = readdirSync(dir).find((f) => f.endsWith('.json'));
const events = JSON.parse(readFileSync(join(dir, file), 'utf8'));
rmSync(dir, { recursive: true, force: true });
const modelRuns = events.filter((e) => e.name === 'model_run').slice(1);
const kernels = events.filter((e) => e.cat === 'Node' && e.name.endsWith('_kernel_time') && e.ts >= modelRuns[0].ts);
const per = (key) => {
  const m = new Map();
  for (const e of kernels) m.set(key(e), (m.get(key(e)) ?? 0) + e.dur / modelRuns.length / 1000);
  return [...m].sort((a, b) => b[1] - a[1]);
};
const total = kernels.reduce((a, e) => a + e.dur, 0) / modelRuns.length / 1000;
const run = modelRuns.reduce((a, e) => a + e.dur, 0) / modelRuns.length / 1000;
console.log(`${model}, batch ${B}, ${threads} thread(s): kernel time ${total.toFixed(1)} ms per step, model_run ${run.toFixed(1)} ms`);
console.log('\nby ONNX op (ms per step):');
for (const [k, v] of per((e) => e.args.op_name).slice(0, 25)) console.log(`  ${k.padEnd(26)} ${v.toFixed(1).padStart(8)}`);
console.log('\nby cliplab op, in the forward (fw) or backward (bw) (ms per step):');
const opOf = (e) => {
  const m = e.name.match(/\|([a-z_0-9]+)@([^/]*)/);
  if (!m) return e.name;
  return `${m[2].startsWith('backward') ? 'bw' : 'fw'}:${m[1]}`;
};
for (const [k, v] of per(opOf).slice(0, 30)) console.log(`  ${k.padEnd(34)} ${v.toFixed(1).padStart(8)}`);
