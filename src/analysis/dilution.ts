// Dilution: a mixture's trend line against its sources' lines and the proportion-weighted interpolation;
// input mixing (training on the mixture) against output mixing (an ensemble with the same proportions).
import type { DesignInfo } from '../eval/result.js';
import { type AnalysisContext, lineKey, pointsOf } from './lines.js';
import type { DesignRecord, DilutionRecord, MixingCurve } from './robustness-types.js';
import { AVERAGE } from './study.js';
import { type LineWithCi, type Point, percentile, predictionCi } from './trend-line.js';
import { seedFor } from '../util/seed.js';
import { Rng } from '../util/rng.js';

/**
 * How far the mixture's models fall below the best source's line (accuracy points, mean over the
 * mixture's models of line − model), with a 95% CI that resamples both the mixture's models and the
 * source line's bootstrap replicates.
 */
export function shortfallFromLine(line: LineWithCi, pts: Point[], inverse: (z: number) => number, seed: number): { mean: number; ci95: [number, number] } {
  const gap = (a: number, b: number, p: Point): number => inverse(a * p.x + b) - inverse(p.y);
  const mean = pts.reduce((acc, p) => acc + gap(line.slope, line.intercept, p), 0) / pts.length;
  const rng = new Rng(seed);
  const reps: number[] = [];
  for (const [a, b] of line.replicates) {
    let sum = 0;
    for (let i = 0; i < pts.length; i++) sum += gap(a, b, pts[rng.int(pts.length)]!);
    reps.push(sum / pts.length);
  }
  reps.sort((x, y) => x - y);
  return { mean, ci95: reps.length > 0 ? [percentile(reps, 0.025), percentile(reps, 0.975)] : [mean, mean] };
}

export function normalizedSources(info: DesignInfo): Record<string, number> {
  const entries = Object.entries(info.sources).filter(([, p]) => p > 0);
  const total = entries.reduce((a, [, p]) => a + p, 0);
  return Object.fromEntries(entries.map(([k, p]) => [k, p / total]).sort((a, b) => String(a[0]).localeCompare(String(b[0]))));
}

/** The design that stands for one source: kind 'source' with only that source, else a design of that name. */
export function designForSource(designInfo: Map<string, DesignInfo>, designs: string[], source: string): string | undefined {
  for (const d of designs) {
    const info = designInfo.get(d);
    if (info?.kind === 'source' && Object.keys(normalizedSources(info)).join() === source) return d;
  }
  return designs.includes(source) ? source : undefined;
}

function sameProportions(a: Record<string, number>, b: Record<string, number>): boolean {
  const ka = Object.keys(a);
  if (ka.join() !== Object.keys(b).join()) return false;
  return ka.every((k) => Math.abs(a[k]! - b[k]!) < 1e-6);
}

export function analyzeDilution(ctx: AnalysisContext): DilutionRecord[] {
  const { study, t, lines, baseline } = ctx;
  const out: DilutionRecord[] = [];
  for (const mixture of study.designs) {
    const info = study.designInfo.get(mixture);
    if (info?.kind !== 'mixture') continue;
    const props = normalizedSources(info);
    const names = Object.keys(props);
    if (names.length < 2) continue;
    const sourceDesigns: Record<string, string> = {};
    for (const s of names) {
      const d = designForSource(study.designInfo, study.designs, s);
      if (d) sourceDesigns[s] = d;
    }
    if (Object.keys(sourceDesigns).length !== names.length) continue;
    const ensembles = study.designs.filter((d) => {
      const i = study.designInfo.get(d);
      return i?.kind === 'ensemble' && sameProportions(normalizedSources(i), props);
    });
    for (const dataset of [...study.shifts, AVERAGE]) {
      const mixLine = lines.get(lineKey(mixture, dataset));
      const srcLines = names.map((s) => lines.get(lineKey(sourceDesigns[s]!, dataset)));
      if (!mixLine || srcLines.some((l) => !l)) continue;
      const pts = pointsOf(study.models.filter((m) => m.design === mixture), dataset, t);
      const x0 = pts.reduce((a, p) => a + p.x, 0) / pts.length;
      const zMix = mixLine.slope * x0 + mixLine.intercept;
      const zSrc = srcLines.map((l) => l!.slope * x0 + l!.intercept);
      const zInterp = names.reduce((a, s, i) => a + props[s]! * zSrc[i]!, 0);
      const pMix = t.inverse(zMix);
      const pSrc = zSrc.map((z) => t.inverse(z));
      const pInterp = t.inverse(zInterp);
      const base = baseline.get(dataset);
      const pBase = base ? t.inverse(base.slope * x0 + base.intercept) : null;
      const best = Math.max(...pSrc);
      const worst = Math.min(...pSrc);
      const bestLine = srcLines[pSrc.indexOf(best)]!;
      const mixBand = predictionCi(mixLine, x0);
      let ensemble: DilutionRecord['ensemble'] = null;
      for (const e of ensembles) {
        const eLine = lines.get(lineKey(e, dataset));
        if (!eLine) continue;
        const band = predictionCi(eLine, x0);
        const pE = t.inverse(eLine.slope * x0 + eLine.intercept);
        ensemble = {
          design: e,
          predicted: pE,
          ci95: [t.inverse(band[0]), t.inverse(band[1])],
          difference: pMix - pE,
          outputPredictsInput: zMix >= band[0] && zMix <= band[1],
        };
        break;
      }
      out.push({
        mixture,
        dataset,
        proportions: props,
        sourceDesigns,
        atAccReference: t.inverse(x0),
        predicted: {
          mixture: pMix,
          sources: Object.fromEntries(names.map((s, i) => [s, pSrc[i]!])),
          interpolation: pInterp,
        },
        er:
          pBase === null
            ? null
            : {
                mixture: pMix - pBase,
                sources: Object.fromEntries(names.map((s, i) => [s, pSrc[i]! - pBase])),
                interpolation: pInterp - pBase,
              },
        dilution: best - pMix,
        mixtureCi95: [t.inverse(mixBand[0]), t.inverse(mixBand[1])],
        bestSource: names[pSrc.indexOf(best)]!,
        shortfall: shortfallFromLine(bestLine, pts, (z) => t.inverse(z), seedFor(ctx.seed, `shortfall/${mixture}/${dataset}`)),
        deviationFromInterpolation: pMix - pInterp,
        between: pMix >= worst - 1e-12 && pMix <= best + 1e-12,
        belowBest: pMix < best,
        ensemble,
      });
    }
  }
  return out;
}

/** ER (per design, with CI) against the share of one source, for every pair of sources mixed together. */
export function mixingCurves(ctx: AnalysisContext, designs: DesignRecord[]): MixingCurve[] {
  const { study } = ctx;
  const pairs = new Map<string, { design: string; a: number }[]>();
  for (const d of study.designs) {
    const info = study.designInfo.get(d);
    if (info?.kind !== 'mixture') continue;
    const props = normalizedSources(info);
    const names = Object.keys(props);
    if (names.length !== 2) continue;
    const key = names.join('\u0000');
    const list = pairs.get(key) ?? [];
    list.push({ design: d, a: props[names[0]!]! });
    pairs.set(key, list);
  }
  const out: MixingCurve[] = [];
  for (const [key, mixes] of pairs) {
    const [a, b] = key.split('\u0000') as [string, string];
    const da = designForSource(study.designInfo, study.designs, a);
    const db = designForSource(study.designInfo, study.designs, b);
    const members = [
      ...(db ? [{ design: db, a: 0 }] : []),
      ...mixes,
      ...(da ? [{ design: da, a: 1 }] : []),
    ];
    for (const dataset of [...study.shifts, AVERAGE]) {
      const points: MixingCurve['points'] = [];
      for (const m of members) {
        const rec = designs.find((r) => r.design === m.design && r.dataset === dataset);
        if (!rec?.effectiveRobustness) continue;
        points.push({ design: m.design, proportion: m.a, ...rec.effectiveRobustness, effectiveRobustness: rec.effectiveRobustness.mean });
      }
      points.sort((p, q) => p.proportion - q.proportion);
      if (points.length >= 2) out.push({ sources: [a, b], dataset, points });
    }
  }
  return out;
}
