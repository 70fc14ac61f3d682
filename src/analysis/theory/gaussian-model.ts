// The Gaussian theory model: binary classes y = ±1 with x | y ~ N(y·μ, diag(σ²)). Closed forms for the
// population least-squares classifier on a mixture, for the moments of a source after filtering with a
// linear classifier, and for the accuracy of a linear classifier; Monte Carlo and finite-sample fits.
import { Rng } from '../../util/rng.js';
import { normalCdf, normalPdf, normalQuantile } from '../normal.js';
import { type Mat, type Vec, addMat, addOuter, diag, dot, identity, matVec, quadForm, solveSpd, zeros } from './linalg.js';

/** One class-conditional Gaussian family: x | y ~ N(y·mean, diag(variances)). */
export interface Gaussian {
  mean: Vec;
  variances: Vec;
}

/** What least squares needs from a training distribution: m = E[y·x] and S = E[x·xᵀ]. */
export interface Moments {
  m: Vec;
  S: Mat;
}

/** Second moments of one source: E[yx] = μ, E[xxᵀ] = Σ + μμᵀ. */
export function gaussianMoments(g: Gaussian): Moments {
  return { m: [...g.mean], S: addOuter(diag(g.variances), g.mean, g.mean) };
}

/** Moments of a mixture with proportions α (normalized): E over the mixture is the α-weighted sum. */
export function mixtureMoments(parts: { moments: Moments; weight: number }[]): Moments {
  const total = parts.reduce((a, p) => a + p.weight, 0);
  const d = parts[0]!.moments.m.length;
  let m = new Array<number>(d).fill(0);
  let S = zeros(d);
  for (const p of parts) {
    const a = p.weight / total;
    m = m.map((v, i) => v + a * p.moments.m[i]!);
    S = addMat(S, p.moments.S, a);
  }
  return { m, S };
}

/**
 * Moments of source g after keeping only pairs with y·vᵀx ≥ τ (the filter classifier v agrees with the
 * label by a margin). With z = y·x ~ N(μ, Σ), u = vᵀz ~ N(vᵀμ, s²), s² = vᵀΣv, a = (τ − vᵀμ)/s and the
 * inverse Mills ratio λ = φ(a)/(1 − Φ(a)):
 *   E[z | keep] = μ + λ·Σv/s,   Cov[z | keep] = Σ − (λ² − aλ)·(Σv)(Σv)ᵀ/s².
 * Returns the kept fraction 1 − Φ(a) too.
 */
export function filteredMoments(g: Gaussian, v: Vec, tau: number): Moments & { keep: number } {
  const sv = v.map((x, i) => x * g.variances[i]!);
  const s = Math.sqrt(dot(v, sv));
  const a = (tau - dot(v, g.mean)) / s;
  const keep = normalCdf(-a);
  const lambda = normalPdf(a) / keep;
  const mean = g.mean.map((mu, i) => mu + (lambda * sv[i]!) / s);
  const cov = addOuter(diag(g.variances), sv, sv, -(lambda * lambda - a * lambda) / (s * s));
  return { m: mean, S: addOuter(cov, mean, mean), keep };
}

/** The threshold τ that keeps a fraction `keep` of source g under filter v. */
export function thresholdForKeep(g: Gaussian, v: Vec, keep: number): number {
  const s = Math.sqrt(v.reduce((acc, x, i) => acc + x * x * g.variances[i]!, 0));
  return dot(v, g.mean) + s * normalQuantile(1 - keep);
}

/** Population least squares w = argmin E[(wᵀx − y)²] + ridge·|w|² = (S + ridge·I)⁻¹ m. */
export function leastSquares(mo: Moments, ridge = 0): Vec {
  return solveSpd(ridge > 0 ? addMat(mo.S, identity(mo.m.length, ridge)) : mo.S, mo.m);
}

/** Accuracy of sign(wᵀx) on test family t: Φ(wᵀμ / √(wᵀΣw)). */
export function accuracy(w: Vec, t: Gaussian): number {
  return normalCdf(margin(w, t));
}

/** The probit accuracy wᵀμ / √(wᵀΣw). */
export function margin(w: Vec, t: Gaussian): number {
  const q = w.reduce((acc, x, i) => acc + x * x * t.variances[i]!, 0);
  return dot(w, t.mean) / Math.sqrt(q);
}

/** Draw (y, x) from a Gaussian family. */
export function sample(g: Gaussian, rng: Rng): { y: number; x: Vec } {
  const y = rng.random() < 0.5 ? -1 : 1;
  const d = g.mean.length;
  const x = new Array<number>(d);
  for (let i = 0; i < d; i++) x[i] = y * g.mean[i]! + Math.sqrt(g.variances[i]!) * rng.normal();
  return { y, x };
}

/** Monte Carlo accuracy of sign(wᵀx) over `count` test draws of (y, x), with its standard error. */
export function monteCarloAccuracy(w: Vec, t: Gaussian, count: number, rng: Rng): { acc: number; se: number } {
  let correct = 0;
  const d = w.length;
  const sd = t.variances.map(Math.sqrt);
  for (let k = 0; k < count; k++) {
    const y = rng.random() < 0.5 ? -1 : 1;
    let s = 0;
    for (let i = 0; i < d; i++) s += w[i]! * (y * t.mean[i]! + sd[i]! * rng.normal());
    if (y * s > 0) correct++;
  }
  const acc = correct / count;
  return { acc, se: Math.sqrt(Math.max(acc * (1 - acc), 1e-12) / count) };
}

/** A training sampler: one (y, x) pair per call. */
export type Sampler = (rng: Rng) => { y: number; x: Vec };

export function gaussianSampler(g: Gaussian): Sampler {
  return (rng) => sample(g, rng);
}

/** Mixture sampler: pick a source by its proportion, then draw from it. */
export function mixtureSampler(parts: { sampler: Sampler; weight: number }[]): Sampler {
  const total = parts.reduce((a, p) => a + p.weight, 0);
  return (rng) => {
    let u = rng.random() * total;
    for (const p of parts) {
      u -= p.weight;
      if (u < 0) return p.sampler(rng);
    }
    return parts[parts.length - 1]!.sampler(rng);
  };
}

/** Filter sampler: rejection-sample pairs with y·vᵀx ≥ τ. */
export function filteredSampler(inner: Sampler, v: Vec, tau: number): Sampler {
  return (rng) => {
    for (;;) {
      const s = inner(rng);
      if (s.y * dot(v, s.x) >= tau) return s;
    }
  };
}

/** Empirical moments of `count` draws (`withS` false skips the d×d second moment). */
export function empiricalMoments(sampler: Sampler, count: number, rng: Rng, d: number, withS = true): Moments {
  const m = new Float64Array(d);
  const S = new Float64Array(withS ? d * d : 0);
  for (let k = 0; k < count; k++) {
    const { y, x } = sampler(rng);
    for (let i = 0; i < d; i++) {
      const xi = x[i]!;
      m[i]! += y * xi;
      if (!withS) continue;
      const row = i * d;
      for (let j = i; j < d; j++) S[row + j]! += xi * x[j]!;
    }
  }
  const out = zeros(withS ? d : 0);
  for (let i = 0; i < out.length; i++)
    for (let j = i; j < d; j++) out[i]![j] = out[j]![i] = S[i * d + j]! / count;
  return { m: Array.from(m, (v) => v / count), S: out };
}

/** Finite-sample ridge least squares on `count` draws: (XᵀX/N + ridge·I)⁻¹ Xᵀy/N. */
export function fitFiniteSample(sampler: Sampler, count: number, ridge: number, rng: Rng, d: number): Vec {
  return leastSquares(empiricalMoments(sampler, count, rng, d), ridge);
}

export { matVec, quadForm };
