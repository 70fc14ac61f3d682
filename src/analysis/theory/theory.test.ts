import { describe, expect, it } from 'vitest';
import { Rng } from '../../util/rng.js';
import { normalCdf } from '../normal.js';
import { DEFAULT_THEORY_CONFIG, meanVector, runTheory } from './experiments.js';
import {
  type Gaussian, accuracy, empiricalMoments, filteredMoments, filteredSampler, gaussianMoments, gaussianSampler, leastSquares,
  mixtureMoments, mixtureSampler, monteCarloAccuracy, thresholdForKeep,
} from './gaussian-model.js';
import { dot, norm } from './linalg.js';

const c = DEFAULT_THEORY_CONFIG;
const g = (core: number, spurious: number): Gaussian => {
  const mean = meanVector(c, core, spurious);
  return { mean, variances: mean.map((_, i) => 1 + 0.5 * (i % 3)) };
};

describe('theory model closed forms', () => {
  const A = g(1, 0.2);
  const B = g(0.5, 1.5);
  const test = g(0.7, 0);
  it('accuracy Φ(wᵀμ/√(wᵀΣw)) agrees with Monte Carlo within sampling error', () => {
    const rng = new Rng(11);
    const w = leastSquares(mixtureMoments([{ moments: gaussianMoments(A), weight: 0.3 }, { moments: gaussianMoments(B), weight: 0.7 }]));
    const mc = monteCarloAccuracy(w, test, 40_000, rng);
    expect(Math.abs(mc.acc - accuracy(w, test))).toBeLessThan(4 * mc.se);
  });
  it('population least squares on a mixture equals the large-sample fit (second moments of the mixture)', () => {
    const rng = new Rng(12);
    const mo = mixtureMoments([{ moments: gaussianMoments(A), weight: 0.5 }, { moments: gaussianMoments(B), weight: 0.5 }]);
    const w = leastSquares(mo);
    const sampler = mixtureSampler([{ sampler: gaussianSampler(A), weight: 0.5 }, { sampler: gaussianSampler(B), weight: 0.5 }]);
    const emp = empiricalMoments(sampler, 20_000, rng, w.length);
    const wh = leastSquares(emp);
    expect(dot(w, wh) / (norm(w) * norm(wh))).toBeGreaterThan(0.99);
  });
  it('moments after filtering (truncated Gaussian) agree with rejection sampling', () => {
    const rng = new Rng(13);
    const v = leastSquares(gaussianMoments(A));
    const tau = thresholdForKeep(B, v, 0.3);
    const fm = filteredMoments(B, v, tau);
    expect(fm.keep).toBeCloseTo(0.3, 12);
    // Kept fraction by simulation.
    let kept = 0;
    const raw = gaussianSampler(B);
    for (let k = 0; k < 20_000; k++) {
      const s = raw(rng);
      if (s.y * dot(v, s.x) >= tau) kept++;
    }
    expect(Math.abs(kept / 20_000 - 0.3)).toBeLessThan(4 * Math.sqrt(0.21 / 20_000));
    const emp = empiricalMoments(filteredSampler(raw, v, tau), 8_000, rng, v.length);
    const u = v.map((x) => x / norm(v));
    const sd = Math.sqrt(Math.max(dot(u, fm.S.map((row) => dot(row, u))) - dot(u, fm.m) ** 2, 1e-9));
    expect(Math.abs(dot(u, emp.m) - dot(u, fm.m))).toBeLessThan((4.5 * sd) / Math.sqrt(8_000));
    // Second moment along u: E[(uᵀx)²].
    const su = dot(u, fm.S.map((row) => dot(row, u)));
    const esu = dot(u, emp.S.map((row) => dot(row, u)));
    expect(Math.abs(esu - su) / su).toBeLessThan(0.05);
  });
});

describe('theory experiment (default configuration)', () => {
  const r = runTheory();
  it('every closed-form accuracy and moment agrees with its Monte Carlo', () => {
    expect(r.monteCarlo.length).toBeGreaterThanOrEqual(8);
    for (const m of r.monteCarlo) expect(m.z, m.what).toBeLessThan(4.5);
  });
  it('(i) each source gives a line, and its population classifier lies on it', () => {
    expect(r.claims.linesPerSource.holds).toBe(true);
    expect(r.claims.linesPerSource.minR2).toBeGreaterThan(0.95);
    // κ differs between sources: the lines are distinct (robust above spurious).
    const k = Object.fromEntries(r.designs.map((d) => [d.name, d.kappa]));
    expect(k.robust!).toBeGreaterThan(k.middle!);
    expect(k.middle!).toBeGreaterThan(k.spurious!);
  });
  it('(ii) mixing interpolates between the sources and dilutes the best', () => {
    const m = r.claims.mixingInterpolates;
    expect(m.holds).toBe(true);
    for (const row of m.rows) {
      expect(row.between && row.belowBest).toBe(true);
      expect(Math.abs(row.kappa - row.interpolatedKappa)).toBeLessThan(0.05);
    }
  });
  it('(iii) filtering with the robust classifier moves toward the robust line', () => {
    const f = r.claims.filteringMovesTowardRobust;
    expect(f.holds).toBe(true);
    expect(f.rows.map((x) => x.keep)).toEqual([0.5, 0.25, 0.1]);
    const spurious = r.designs.find((d) => d.name === 'spurious')!;
    for (const row of f.rows) expect(row.atX0).toBeGreaterThan(normalCdf(spurious.kappa * r.x0.probit));
  });
});
