// Synthetic result files with known trend lines (sources, mixtures, an ensemble, a filtered source, a
// baseline), for tests and for trying `analyze`/`report` without training anything.
import { join } from 'node:path';
import type { DesignInfo, Result } from '../../src/eval/result.js';
import { writeJsonAtomic } from '../../src/util/fs.js';
import { Rng } from '../../src/util/rng.js';
import { normalCdf } from '../../src/analysis/normal.js';

export interface SyntheticDesign {
  name: string;
  info: DesignInfo;
  /** Probit intercept of the design's line on every shift (slope 1); shift k adds `shiftOffsets[k]`. */
  intercept: number;
  /** Offset of this design's reference probit accuracy (bigger: better models). */
  refOffset?: number;
}

export interface SyntheticOptions {
  seed?: number;
  reference?: string;
  shifts?: string[];
  shiftOffsets?: number[];
  sizes?: number[];
  n?: number;
  /** Noise (probit units) added to each shift accuracy. */
  noise?: number;
  designs?: SyntheticDesign[];
}

export const SYNTHETIC_DESIGNS: SyntheticDesign[] = [
  { name: 'baseline', info: { kind: 'baseline', sources: { reference: 1 } }, intercept: -0.9, refOffset: 0.3 },
  { name: 'twemoji', info: { kind: 'source', sources: { twemoji: 1 } }, intercept: -0.35 },
  { name: 'openmoji', info: { kind: 'source', sources: { openmoji: 1 } }, intercept: -0.85 },
  { name: 'mix-tw25', info: { kind: 'mixture', sources: { twemoji: 0.25, openmoji: 0.75 } }, intercept: -0.75 },
  { name: 'mix-tw50', info: { kind: 'mixture', sources: { twemoji: 0.5, openmoji: 0.5 } }, intercept: -0.62 },
  { name: 'mix-tw75', info: { kind: 'mixture', sources: { twemoji: 0.75, openmoji: 0.25 } }, intercept: -0.48 },
  { name: 'ens-tw50', info: { kind: 'ensemble', sources: { twemoji: 0.5, openmoji: 0.5 } }, intercept: -0.6 },
  {
    name: 'openmoji-filtered',
    info: { kind: 'filtered', sources: { openmoji: 1 }, filter: { method: 'clip-score', threshold: 0.28, model: 'twemoji-s4' } },
    intercept: -0.6,
  },
];

export function syntheticResults(opts: SyntheticOptions = {}): Result[] {
  const rng = new Rng(opts.seed ?? 1);
  const reference = opts.reference ?? 'noto-v1';
  const shifts = opts.shifts ?? ['emojione-monotone', 'fluent-emoji-high-contrast', 'noto-v1-rotated'];
  const offsets = opts.shiftOffsets ?? [-0.5, -0.2, 0];
  const sizes = opts.sizes ?? [1000, 2000, 4000, 8000];
  const n = opts.n ?? 5000;
  const noise = opts.noise ?? 0.02;
  const out: Result[] = [];
  for (const d of opts.designs ?? SYNTHETIC_DESIGNS) {
    sizes.forEach((size, i) => {
      const model = `${d.name}-s${i + 1}`;
      const xRef = -1.4 + 0.4 * i + (d.refOffset ?? 0) + noise * rng.normal();
      const base = {
        model,
        design: d.name,
        task: 'zeroshot_classification',
        n,
        samples_seen: size * 10,
        seed: 0,
        suite: 'testbed',
        classes: { id: 'testbed-100', count: 100 },
        design_info: { ...d.info, size },
      };
      const acc = (p: number): Result['metrics'] => ({
        acc1: p,
        acc5: Math.min(1, p + 0.2 * (1 - p)),
        mean_per_class_recall: p,
      });
      out.push({ ...base, dataset: reference, reference: true, metrics: acc(normalCdf(xRef)) });
      shifts.forEach((s, k) => {
        const y = xRef + d.intercept + offsets[k]! + noise * rng.normal();
        out.push({ ...base, dataset: s, metrics: acc(normalCdf(y)) });
      });
    });
  }
  return out;
}

/** Write each result as `<dir>/<model>__<dataset>.json`; returns the paths. */
export async function writeSyntheticResults(dir: string, opts: SyntheticOptions = {}): Promise<string[]> {
  const paths: string[] = [];
  for (const r of syntheticResults(opts)) {
    const p = join(dir, `${r.model}__${r.dataset}.json`);
    await writeJsonAtomic(p, r);
    paths.push(p);
  }
  return paths;
}
