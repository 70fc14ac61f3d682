// Scoring one dataset: decode its images (worker pool), encode them with every ensemble member, and mix the
// members' zero-shot logits (100 × cosine with the head) by weight; then project head logits onto the
// dataset's classes (max over each class's head columns) and count unreadable images.
import { normalizeRows } from '../models/encoders.js';
import { decodeBatches, type DecodePool } from './decode.js';
import { checkFeatures } from './features.js';
import { readImageFolder } from './image-folder.js';
import type { EvalModel } from './model.js';
import type { DatasetSpec, EvalClass } from './suites.js';
import type { TemplateSet } from './templates.js';
import { zeroShotHead, type ZeroShotHead } from './zeroshot-head.js';

/** CLIP_benchmark's fixed logit scale (not the model's learned logit_scale); the argmax does not depend on it. */
export const ZERO_SHOT_LOGIT_SCALE = 100;

export interface EnsembleMember {
  model: EvalModel;
  /** Normalized to sum 1 over the members. */
  weight: number;
}

export interface SkippedImage {
  file: string;
  reason: string;
}

export interface DatasetScores {
  spec: DatasetSpec;
  /** Rows of evaluated (decoded) images, in file order. */
  n: number;
  /** Image files found in the dataset's class folders (n + skipped). */
  nFiles: number;
  labels: Int32Array;
  /** [n, headClassnames.length]: the weighted mean over members of 100 × normalized image · head row. */
  headLogits: Float32Array;
  skipped: SkippedImage[];
  ignoredDirs: string[];
  /** Wall seconds: the whole dataset, spent waiting for decoded batches, and in the image encoders. */
  timing: { seconds: number; decodeWait: number; encode: number };
}

export interface ScoreOptions {
  members: EnsembleMember[];
  templates: TemplateSet;
  pool: DecodePool;
  batchSize: number;
  /** Heads by (member, head class list); filled as needed so datasets sharing a head build it once. */
  heads: Map<string, ZeroShotHead>;
  onHeadProgress?: (member: string, done: number, total: number) => void;
  /** Called once the dataset is listed, with its image file count. */
  onStart?: (files: number) => void;
  onImages?: (n: number) => void;
}

/** `where`: the dataset that first needs the head, named if its text features are broken. */
async function headFor(o: ScoreOptions, m: EvalModel, index: number, classnames: string[], where: string): Promise<ZeroShotHead> {
  const key = `${index}\u0000${JSON.stringify(classnames)}`;
  let h = o.heads.get(key);
  if (!h) {
    h = await zeroShotHead({
      model: m,
      classnames,
      templates: o.templates,
      where,
      cache: m.headCache,
      onProgress: (d, t) => o.onHeadProgress?.(m.id, d, t),
    });
    o.heads.set(key, h);
  }
  return h;
}

/** out[rows[r], :] += scale · feats[r, :] · headᵀ for r < k (feats [k, D], head [H, D]). */
function addLogits(out: Float32Array, rows: number[], feats: Float32Array, head: Float32Array, H: number, D: number, scale: number): void {
  for (let r = 0; r < rows.length; r++) {
    const fo = r * D;
    const oo = rows[r]! * H;
    for (let c = 0; c < H; c++) {
      const ho = c * D;
      let s = 0;
      for (let d = 0; d < D; d++) s += feats[fo + d]! * head[ho + d]!;
      out[oo + c]! += scale * s;
    }
  }
}

export async function scoreDataset(spec: DatasetSpec, o: ScoreOptions): Promise<DatasetScores> {
  const folder = spec.folder ?? readImageFolder(spec.root, spec.classes);
  const files = folder.samples.map((s) => s.file);
  o.onStart?.(files.length * new Set(o.members.map((m) => m.model.imageSize)).size);
  const H = spec.headClassnames.length;
  const heads: ZeroShotHead[] = [];
  for (const [i, m] of o.members.entries()) heads.push(await headFor(o, m.model, i, spec.headClassnames, spec.name));
  const all = new Float32Array(files.length * H);
  const ok = new Uint8Array(files.length).fill(1);
  const reasons = new Map<number, string>();
  const sizes = [...new Set(o.members.map((m) => m.model.imageSize))];
  const t0 = performance.now();
  let waitMs = 0;
  let encodeMs = 0;
  for (const size of sizes) {
    const group = o.members.map((m, i) => ({ ...m, head: heads[i]! })).filter((m) => m.model.imageSize === size);
    const plane = 3 * size * size;
    const batches = decodeBatches(o.pool, files, { size, batchSize: o.batchSize, borderCrop: spec.borderCrop });
    for (;;) {
      const tw = performance.now();
      const next = await batches.next();
      waitMs += performance.now() - tw;
      if (next.done) break;
      const b = next.value;
      const rows: number[] = [];
      for (let i = 0; i < b.n; i++) {
        if (b.ok[i]) rows.push(b.start + i);
        else {
          ok[b.start + i] = 0;
          if (!reasons.has(b.start + i)) reasons.set(b.start + i, b.errors[i]!);
        }
      }
      if (rows.length) {
        let packed = b.images;
        if (rows.length < b.n) {
          packed = new Float32Array(rows.length * plane);
          rows.forEach((row, r) => packed.set(b.images.subarray((row - b.start) * plane, (row - b.start + 1) * plane), r * plane));
        }
        for (const m of group) {
          const D = m.model.embedDim;
          const te = performance.now();
          const emb = await m.model.encodeImages(packed, rows.length);
          encodeMs += performance.now() - te;
          checkFeatures(spec.name, m.model, 'image', emb, D, rows.map((row) => files[row]!));
          const feats = normalizeRows(emb, D);
          addLogits(all, rows, feats, m.head.weights, H, D, ZERO_SHOT_LOGIT_SCALE * m.weight);
        }
      }
      o.onImages?.(b.n);
    }
  }
  let n = 0;
  for (const v of ok) n += v;
  const labels = new Int32Array(n);
  const headLogits = n === files.length ? all : new Float32Array(n * H);
  for (let i = 0, r = 0; i < files.length; i++) {
    if (!ok[i]) continue;
    labels[r] = folder.samples[i]!.label;
    if (headLogits !== all) headLogits.set(all.subarray(i * H, (i + 1) * H), r * H);
    r++;
  }
  const skipped = [...reasons].sort((a, b) => a[0] - b[0]).map(([i, reason]) => ({ file: files[i]!, reason }));
  const timing = { seconds: (performance.now() - t0) / 1000, decodeWait: waitMs / 1000, encode: encodeMs / 1000 };
  return { spec, n, nFiles: files.length, labels, headLogits, skipped, ignoredDirs: folder.ignoredDirs, timing };
}

/** Class logits [n, classes.length] from head logits [n, H]: each class's logit is the max over its columns. */
export function classLogits(headLogits: Float32Array, n: number, H: number, classes: readonly EvalClass[]): Float32Array {
  const C = classes.length;
  if (C === H && classes.every((c, i) => c.columns.length === 1 && c.columns[0] === i)) return headLogits;
  const out = new Float32Array(n * C);
  for (let r = 0; r < n; r++) {
    for (let c = 0; c < C; c++) {
      let best = -Infinity;
      for (const col of classes[c]!.columns) best = Math.max(best, headLogits[r * H + col]!);
      out[r * C + c] = best;
    }
  }
  return out;
}

/**
 * The reference set's samples whose class lies in a shift's class subset, relabelled to the shift's classes
 * (reference class with head column j → the shift class whose columns hold j), with their class logits.
 */
export function referenceOnSubset(
  ref: DatasetScores,
  shiftClasses: readonly EvalClass[],
): { n: number; labels: Int32Array; logits: Float32Array } | null {
  const H = ref.spec.headClassnames.length;
  const colToShift = new Map<number, number>();
  shiftClasses.forEach((c, i) => c.columns.forEach((col) => colToShift.set(col, i)));
  const keep: number[] = [];
  const labels: number[] = [];
  for (let r = 0; r < ref.n; r++) {
    const cls = ref.spec.classes[ref.labels[r]!]!;
    const target = cls.columns.length === 1 ? colToShift.get(cls.columns[0]!) : undefined;
    if (target === undefined) continue;
    keep.push(r);
    labels.push(target);
  }
  if (keep.length === 0) return null;
  const rows = new Float32Array(keep.length * H);
  keep.forEach((r, i) => rows.set(ref.headLogits.subarray(r * H, (r + 1) * H), i * H));
  return { n: keep.length, labels: Int32Array.from(labels), logits: classLogits(rows, keep.length, H, shiftClasses) };
}
