// `dataset stats`: counts per source, caption length and vocabulary statistics, CLIP-score histogram.
import { listShards } from '../shards/list.js';
import { newReadStats, readShards, type ReadStats } from '../shards/reader.js';
import type { DatasetStatsOptions } from './options.js';

export interface Summary {
  min: number;
  max: number;
  mean: number;
  p5: number;
  median: number;
  p95: number;
}

export interface DatasetStats {
  dir: string;
  shards: number;
  samples: number;
  perSource: Record<string, number>;
  captionChars: Summary | null;
  captionWords: Summary | null;
  vocabulary: { tokens: number; types: number; top: [string, number][] };
  clipScore: { n: number; summary: Summary | null; histogram: { lo: number; hi: number; count: number }[] };
  read: ReadStats;
}

function summarize(xs: number[]): Summary | null {
  if (xs.length === 0) return null;
  const s = Float64Array.from(xs).sort();
  const q = (f: number): number => s[Math.min(s.length - 1, Math.floor(f * (s.length - 1) + 0.5))]!;
  const mean = s.reduce((a, b) => a + b, 0) / s.length;
  const r = (x: number): number => Number(x.toFixed(4));
  return { min: r(s[0]!), max: r(s[s.length - 1]!), mean: r(mean), p5: r(q(0.05)), median: r(q(0.5)), p95: r(q(0.95)) };
}

function histogram(xs: number[], bins: number): { lo: number; hi: number; count: number }[] {
  if (xs.length === 0) return [];
  let lo = Infinity;
  let hi = -Infinity;
  for (const x of xs) {
    if (x < lo) lo = x;
    if (x > hi) hi = x;
  }
  if (hi === lo) hi = lo + 1e-6;
  const width = (hi - lo) / bins;
  const counts = new Array<number>(bins).fill(0);
  for (const x of xs) counts[Math.min(bins - 1, Math.floor((x - lo) / width))]!++;
  return counts.map((count, i) => ({ lo: Number((lo + i * width).toFixed(4)), hi: Number((lo + (i + 1) * width).toFixed(4)), count }));
}

/** The source a sample came from: `origin.source` (dataset build), else `source`, else 'unknown'. */
function sourceOf(meta: Record<string, unknown>): string {
  const origin = meta.origin as { source?: unknown } | undefined;
  if (origin && typeof origin.source === 'string') return origin.source;
  return typeof meta.source === 'string' ? meta.source : 'unknown';
}

export async function datasetStats(dir: string, opts: DatasetStatsOptions & { top?: number } = {}): Promise<DatasetStats> {
  const shards = await listShards(dir);
  const read = newReadStats();
  const perSource: Record<string, number> = {};
  const chars: number[] = [];
  const words: number[] = [];
  const scores: number[] = [];
  const vocab = new Map<string, number>();
  let tokens = 0;
  for await (const rec of readShards(shards, { stats: read })) {
    const src = sourceOf(rec.meta);
    perSource[src] = (perSource[src] ?? 0) + 1;
    const text = rec.caption.trim();
    chars.push([...text].length);
    const ws = text.toLowerCase().match(/[\p{L}\p{N}]+/gu) ?? [];
    words.push(ws.length);
    tokens += ws.length;
    for (const w of ws) vocab.set(w, (vocab.get(w) ?? 0) + 1);
    const s = rec.meta.clip_score;
    if (typeof s === 'number' && Number.isFinite(s)) scores.push(s);
  }
  const top = [...vocab.entries()].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1)).slice(0, opts.top ?? 20);
  return {
    dir,
    shards: shards.length,
    samples: read.samples,
    perSource: Object.fromEntries(Object.entries(perSource).sort(([a], [b]) => (a < b ? -1 : 1))),
    captionChars: summarize(chars),
    captionWords: summarize(words),
    vocabulary: { tokens, types: vocab.size, top },
    clipScore: { n: scores.length, summary: summarize(scores), histogram: histogram(scores, opts.bins ?? 20) },
    read,
  };
}

/** Human-readable report. */
export function formatDatasetStats(s: DatasetStats): string {
  const lines: string[] = [];
  const sum = (x: Summary | null): string => (x ? `min ${x.min}, p5 ${x.p5}, median ${x.median}, mean ${x.mean}, p95 ${x.p95}, max ${x.max}` : 'n/a');
  lines.push(`${s.dir}: ${s.samples} samples in ${s.shards} shards`);
  lines.push('per source:');
  for (const [k, v] of Object.entries(s.perSource)) lines.push(`  ${k.padEnd(24)} ${String(v).padStart(8)}  ${((100 * v) / Math.max(1, s.samples)).toFixed(1)}%`);
  lines.push(`caption characters: ${sum(s.captionChars)}`);
  lines.push(`caption words:      ${sum(s.captionWords)}`);
  lines.push(`vocabulary: ${s.vocabulary.types} word types, ${s.vocabulary.tokens} tokens; top: ${s.vocabulary.top.map(([w, n]) => `${w} (${n})`).join(', ')}`);
  if (s.clipScore.n > 0) {
    lines.push(`clip score (${s.clipScore.n} samples): ${sum(s.clipScore.summary)}`);
    const max = Math.max(...s.clipScore.histogram.map((h) => h.count));
    for (const h of s.clipScore.histogram) lines.push(`  [${h.lo.toFixed(3)}, ${h.hi.toFixed(3)}) ${'#'.repeat(Math.round((40 * h.count) / max)).padEnd(40)} ${h.count}`);
  } else lines.push('clip score: none stored');
  const problems = (Object.keys(s.read) as (keyof ReadStats)[]).filter((k) => k !== 'shards' && k !== 'samples' && s.read[k] > 0);
  if (problems.length) lines.push(`read problems: ${problems.map((k) => `${k}=${s.read[k]}`).join(' ')}`);
  return lines.join('\n');
}
