// The zero-shot head: per class, embed every template filled with the class name, L2-normalize each embedding,
// average, renormalize (OpenCLIP's `build_zero_shot_classifier`). Heads are cached on disk per (model, classes,
// templates); a changed model file changes the key, and stale entries of the same file are removed.
import { createHash } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import { join } from 'node:path';
import { getTokenizer } from '../data/tokenizer/index.js';
import { normalizeRows } from '../models/encoders.js';
import { removeStaleTemps, writeFileAtomic } from '../util/fs.js';
import { findNonFinite } from '../util/finite.js';
import { warn } from '../util/log.js';
import { checkFeatures } from './features.js';
import { fillTemplate, type TemplateSet } from './templates.js';

/** The text side of a model, as the head needs it. */
export interface TextTower {
  /** Named in errors when given. */
  id?: string;
  contextLength: number;
  embedDim: number;
  /** tokens [n, contextLength] → embeddings [n, embedDim] (not normalized). */
  encodeTexts(tokens: BigInt64Array, n: number): Promise<Float32Array>;
}

export interface HeadCache {
  dir: string;
  /** Identifies the weights and config (e.g. sha256 of the file + config); part of every key. */
  modelKey: string;
  /** The weights file, recorded so entries of an older version of the same file can be pruned. */
  modelFile: string;
}

export interface ZeroShotHeadOptions {
  model: TextTower;
  classnames: readonly string[];
  templates: TemplateSet;
  /** The dataset the head is for, named in errors; default "zero-shot head". */
  where?: string;
  /** Texts per encoder call; default 256. */
  batchSize?: number;
  /** On-disk cache; none when omitted. */
  cache?: HeadCache;
  onProgress?: (textsDone: number, textsTotal: number) => void;
}

export interface ZeroShotHead {
  classnames: string[];
  dim: number;
  /** [classes, dim], unit rows. */
  weights: Float32Array;
  /** True when read from the cache. */
  cached: boolean;
}

interface CacheMeta {
  version: 1;
  model_key: string;
  model_file: string;
  classes: number;
  dim: number;
  templates: string;
  classes_hash: string;
}

function classesHash(classnames: readonly string[]): string {
  return createHash('sha256').update(JSON.stringify(classnames)).digest('hex').slice(0, 16);
}

function cacheName(c: HeadCache, classnames: readonly string[], t: TemplateSet, contextLength: number): string {
  const key = createHash('sha256')
    .update(JSON.stringify({ v: 1, classes: classnames, templates: t.templates, contextLength }))
    .digest('hex')
    .slice(0, 24);
  return `${c.modelKey.slice(0, 16)}-${key}`;
}

async function readCached(c: HeadCache, name: string, classes: number, dim: number): Promise<Float32Array | null> {
  try {
    const meta = JSON.parse(await fsp.readFile(join(c.dir, `${name}.json`), 'utf8')) as CacheMeta;
    if (meta.model_key !== c.modelKey || meta.classes !== classes || meta.dim !== dim) return null;
    const buf = await fsp.readFile(join(c.dir, `${name}.f32`));
    if (buf.byteLength !== classes * dim * 4) return null;
    return new Float32Array(buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength));
  } catch {
    return null;
  }
}

async function writeCached(c: HeadCache, name: string, meta: CacheMeta, weights: Float32Array): Promise<void> {
  try {
    await writeFileAtomic(join(c.dir, `${name}.f32`), new Uint8Array(weights.buffer, weights.byteOffset, weights.byteLength));
    await writeFileAtomic(join(c.dir, `${name}.json`), JSON.stringify(meta) + '\n');
    for (const f of await fsp.readdir(c.dir)) {
      if (!f.endsWith('.json') || f === `${name}.json`) continue;
      try {
        const other = JSON.parse(await fsp.readFile(join(c.dir, f), 'utf8')) as CacheMeta;
        if (other.model_file === c.modelFile && other.model_key !== c.modelKey) {
          const stem = f.slice(0, -'.json'.length);
          await fsp.rm(join(c.dir, `${stem}.f32`), { force: true });
          await fsp.rm(join(c.dir, f), { force: true });
        }
      } catch {
        // not one of ours, or a concurrent writer: leave it
      }
    }
  } catch (e) {
    warn(`zero-shot head cache ${c.dir}: not written (${(e as Error).message})`);
  }
}

/** Builds (or reads from the cache) the zero-shot classifier for `classnames` under `templates`. */
export async function zeroShotHead(opts: ZeroShotHeadOptions): Promise<ZeroShotHead> {
  const { model, templates } = opts;
  const classnames = [...opts.classnames];
  const D = model.embedDim;
  const C = classnames.length;
  const name = opts.cache ? cacheName(opts.cache, classnames, templates, model.contextLength) : '';
  if (opts.cache) {
    removeStaleTemps(opts.cache.dir); // heads a killed eval was writing: removed by every rerun, cache hit or not
    const hit = await readCached(opts.cache, name, C, D);
    // A damaged cache entry is rebuilt, never used.
    if (hit && findNonFinite(hit) === null) return { classnames, dim: D, weights: hit, cached: true };
  }
  const T = templates.templates.length;
  const texts = classnames.flatMap((c) => templates.templates.map((t) => fillTemplate(t, c)));
  const batch = Math.max(1, opts.batchSize ?? 256);
  const tokenizer = getTokenizer();
  const sums = new Float64Array(C * D);
  for (let start = 0; start < texts.length; start += batch) {
    const chunk = texts.slice(start, start + batch);
    const emb = await model.encodeTexts(tokenizer.tokenize(chunk, model.contextLength), chunk.length);
    checkFeatures(opts.where ?? 'zero-shot head', model, 'text', emb, D, chunk);
    normalizeRows(emb, D);
    for (let r = 0; r < chunk.length; r++) {
      const cls = Math.floor((start + r) / T);
      for (let j = 0; j < D; j++) sums[cls * D + j]! += emb[r * D + j]!;
    }
    opts.onProgress?.(Math.min(start + batch, texts.length), texts.length);
  }
  // Mean of unit vectors, then renormalize (the 1/T factor cancels in the renormalization, kept for clarity).
  const weights = new Float32Array(C * D);
  for (let i = 0; i < C * D; i++) weights[i] = sums[i]! / T;
  normalizeRows(weights, D);
  if (opts.cache) {
    const meta: CacheMeta = {
      version: 1,
      model_key: opts.cache.modelKey,
      model_file: opts.cache.modelFile,
      classes: C,
      dim: D,
      templates: templates.hash,
      classes_hash: classesHash(classnames),
    };
    await writeCached(opts.cache, name, meta, weights);
  }
  return { classnames, dim: D, weights, cached: false };
}
