// Which candidates of a source are eligible under its CLIP-score filter, decided in constant memory: a
// threshold directly; a top fraction by an exact radix select over the candidate file (two histogram passes
// over the float32 bits), ties at the cut going to the earlier candidate as a stable sort would.
import { readCandidates } from './candidates.js';

/** How a source's candidates are cut: every valid one, by threshold, or top-k with the k-th key and ties. */
export type Cut = { kind: 'all' } | { kind: 'threshold'; threshold: number } | { kind: 'top'; key: number; ties: number } | { kind: 'none' };

export interface CutSummary {
  cut: Cut;
  /** Candidates with a score (not NaN) — all of them without scoring. */
  valid: number;
  eligible: number;
}

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/** A uint32 that orders like the float32 `x` (−0 taken as +0, as a numeric sort sees it). */
export function orderKey(x: number): number {
  f32[0] = x === 0 ? 0 : x;
  const b = u32[0]!;
  return (b & 0x80000000 ? ~b : b | 0x80000000) >>> 0;
}

/** Of `counts` (highest bin last), the bin holding the k-th largest and how many lie strictly above it. */
function kthBin(counts: Float64Array, k: number): { bin: number; above: number } {
  let above = 0;
  for (let b = counts.length - 1; b >= 0; b--) {
    if (above + counts[b]! >= k) return { bin: b, above };
    above += counts[b]!;
  }
  throw new RangeError(`k=${k} exceeds the count`);
}

/** Reads the candidate file once or three times and says how it is cut. */
export function summarizeCut(path: string, scored: boolean, filter: { threshold?: number; topFraction?: number } | null): CutSummary {
  let total = 0;
  let valid = 0;
  let above = 0;
  const hi = filter?.topFraction !== undefined ? new Float64Array(65536) : null;
  for (const c of readCandidates(path)) {
    total++;
    if (Number.isNaN(c.score)) continue;
    valid++;
    if (filter?.threshold !== undefined && c.score >= filter.threshold) above++;
    if (hi) hi[orderKey(c.score) >>> 16]!++;
  }
  if (!scored || !filter) return { cut: { kind: 'all' }, valid: scored ? valid : total, eligible: scored ? valid : total };
  if (filter.threshold !== undefined) return { cut: { kind: 'threshold', threshold: filter.threshold }, valid, eligible: above };
  const k = Math.ceil(filter.topFraction! * valid);
  if (k === 0) return { cut: { kind: 'none' }, valid, eligible: 0 };
  const top = kthBin(hi!, k);
  const lo = new Float64Array(65536);
  for (const c of readCandidates(path)) {
    if (Number.isNaN(c.score)) continue;
    const key = orderKey(c.score);
    if (key >>> 16 === top.bin) lo[key & 0xffff]!++;
  }
  const low = kthBin(lo, k - top.above);
  return { cut: { kind: 'top', key: ((top.bin << 16) | low.bin) >>> 0, ties: k - top.above - low.above }, valid, eligible: k };
}

/** A scan in candidate order that answers, candidate by candidate, whether it is eligible. */
export function eligibility(cut: Cut): (score: number) => boolean {
  switch (cut.kind) {
    case 'all':
      return () => true;
    case 'none':
      return () => false;
    case 'threshold':
      return (s) => !Number.isNaN(s) && s >= cut.threshold;
    case 'top': {
      let ties = 0;
      return (s) => {
        if (Number.isNaN(s)) return false;
        const key = orderKey(s);
        if (key > cut.key) return true;
        return key === cut.key && ties++ < cut.ties;
      };
    }
  }
}
