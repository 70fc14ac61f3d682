// The theory experiment: sources with core and spurious signal, models of several "sizes" (finite-sample
// least squares) per design, mixtures and filtered sources; checks the three claims of docs/theory.md and the
// closed forms against Monte Carlo.
import { Rng } from '../../util/rng.js';
import { normalCdf } from '../normal.js';
import { fitLine, type LineFit } from '../trend-line.js';
import {
  type Gaussian, type Moments, type Sampler, accuracy, empiricalMoments, filteredMoments, filteredSampler, fitFiniteSample,
  gaussianMoments, gaussianSampler, leastSquares, margin, mixtureMoments, mixtureSampler, monteCarloAccuracy, thresholdForKeep,
} from './gaussian-model.js';
import { type Vec, dot, norm } from './linalg.js';

export interface TheoryConfig {
  seed: number;
  coreDims: number;
  spuriousDims: number;
  noiseDims: number;
  /** |μ_core| and |μ_spurious| of a multiplier-1 distribution. */
  coreNorm: number;
  spuriousNorm: number;
  /** Test distributions as (core, spurious) multipliers; the shift drops the reference's spurious part. */
  reference: { core: number; spurious: number };
  shift: { core: number; spurious: number };
  sources: { name: string; core: number; spurious: number }[];
  mixing: { a: string; b: string; proportionsOfA: number[] };
  filtering: { source: string; filterWith: string; keep: number[] };
  /** Training set sizes (finite-sample least squares) that make one design's several models. */
  sizes: number[];
  seedsPerSize: number;
  /** Ridge added to the sample second moment, so sizes below d stay solvable. */
  ridge: number;
  /** Test draws per Monte Carlo accuracy check. */
  monteCarloDraws: number;
}

export const DEFAULT_THEORY_CONFIG: TheoryConfig = {
  seed: 0,
  coreDims: 4,
  spuriousDims: 4,
  noiseDims: 32,
  coreNorm: 1,
  spuriousNorm: 0.8,
  reference: { core: 1, spurious: 1 },
  shift: { core: 0.7, spurious: 0 },
  sources: [
    { name: 'robust', core: 1, spurious: 0.2 },
    { name: 'middle', core: 0.8, spurious: 0.8 },
    { name: 'spurious', core: 0.5, spurious: 1.5 },
  ],
  mixing: { a: 'robust', b: 'spurious', proportionsOfA: [0.25, 0.5, 0.75] },
  filtering: { source: 'spurious', filterWith: 'robust', keep: [0.5, 0.25, 0.1] },
  sizes: [12, 16, 24, 32, 48, 64, 128, 256],
  seedsPerSize: 12,
  ridge: 0.05,
  monteCarloDraws: 30_000,
};

/** The expected model at one training set size: probit accuracies averaged over `seeds` training draws. */
export interface TheoryModel {
  size: number;
  seeds: number;
  accReference: number;
  accShift: number;
  probitReference: number;
  probitShift: number;
}

export interface TheoryDesign {
  name: string;
  kind: 'source' | 'mixture' | 'filtered';
  /** Mixture: share of `mixing.a`; filtered: kept fraction. */
  parameter?: number;
  population: { accReference: number; accShift: number; w: Vec };
  /** Slope κ of the population line through the origin (chance): probit(shift) / probit(reference) of w*. */
  kappa: number;
  models: TheoryModel[];
  /** Individual finite-sample models (first seeds only), to show the training noise around the line. */
  draws: { size: number; probitReference: number; probitShift: number }[];
  line: LineFit;
  /** Shift accuracy on the population line at the common reference point x0: Φ(κ·x0). */
  atX0: number;
  /** Fitted line's prediction at the population point minus the population's probit shift accuracy. */
  populationOffLine: number;
}

export interface MonteCarloCheck {
  what: string;
  closedForm: number;
  monteCarlo: number;
  se: number;
  /** |closed − MC| / se (accuracy checks) or / tolerance scale (moments). */
  z: number;
  ok: boolean;
}

export interface TheoryResult {
  config: TheoryConfig;
  /** Common reference accuracy where lines are compared (median over all models). */
  x0: { probit: number; accuracy: number };
  designs: TheoryDesign[];
  claims: {
    linesPerSource: { holds: boolean; r2: Record<string, number>; minR2: number; populationOffLine: Record<string, number> };
    mixingInterpolates: {
      holds: boolean;
      rows: { design: string; share: number; kappa: number; interpolatedKappa: number; atX0: number; between: boolean; belowBest: boolean }[];
      monotone: boolean;
    };
    filteringMovesTowardRobust: { holds: boolean; rows: { design: string; keep: number; kappa: number; atX0: number; gapToRobust: number }[]; monotone: boolean };
  };
  monteCarlo: MonteCarloCheck[];
}

function block(n: number, norm_: number): Vec {
  return new Array<number>(n).fill(norm_ / Math.sqrt(n));
}

/** The mean vector (core ⊕ spurious ⊕ noise dims) of a distribution with the given multipliers. */
export function meanVector(c: TheoryConfig, core: number, spurious: number): Vec {
  return [
    ...block(c.coreDims, c.coreNorm * core),
    ...block(c.spuriousDims, c.spuriousNorm * spurious),
    ...new Array<number>(c.noiseDims).fill(0),
  ];
}

function gaussian(c: TheoryConfig, core: number, spurious: number): Gaussian {
  const mean = meanVector(c, core, spurious);
  return { mean, variances: mean.map(() => 1) };
}

interface DesignSpec {
  name: string;
  kind: TheoryDesign['kind'];
  parameter?: number;
  moments: Moments;
  sampler: Sampler;
}

export function runTheory(config: TheoryConfig = DEFAULT_THEORY_CONFIG): TheoryResult {
  const c = config;
  const d = c.coreDims + c.spuriousDims + c.noiseDims;
  const ref = gaussian(c, c.reference.core, c.reference.spurious);
  const shift = gaussian(c, c.shift.core, c.shift.spurious);
  const specs = designSpecs(c);
  const root = new Rng(c.seed);
  const designs = specs.map((s, k) => fitDesign(s, c, ref, shift, root.fork(k), d));
  // Each design's population line evaluated at x0, the median probit reference accuracy over the sources' models.
  const allX = designs.filter((x) => x.kind === 'source').flatMap((x) => x.models.map((m) => m.probitReference)).sort((a, b) => a - b);
  const x0 = allX[Math.floor(allX.length / 2)]!;
  for (const x of designs) x.atX0 = normalCdf(x.kappa * x0);
  return {
    config: c,
    x0: { probit: x0, accuracy: normalCdf(x0) },
    designs,
    claims: { linesPerSource: linesClaim(designs), mixingInterpolates: mixingClaim(c, designs), filteringMovesTowardRobust: filteringClaim(c, designs) },
    monteCarlo: monteCarloChecks(c, specs, ref, shift, root.fork(999), d),
  };
}

/** The designs of the experiment: each source, the mixtures of two sources, one source filtered at several rates. */
function designSpecs(c: TheoryConfig): DesignSpec[] {
  const sources = new Map(c.sources.map((s) => [s.name, gaussian(c, s.core, s.spurious)]));
  const get = (name: string): Gaussian => {
    const g = sources.get(name);
    if (!g) throw new Error(`theory config: unknown source ${name}`);
    return g;
  };
  const specs: DesignSpec[] = c.sources.map((s) => ({
    name: s.name, kind: 'source', moments: gaussianMoments(get(s.name)), sampler: gaussianSampler(get(s.name)),
  }));
  const A = get(c.mixing.a);
  const B = get(c.mixing.b);
  for (const p of c.mixing.proportionsOfA)
    specs.push({
      name: `mix ${Math.round(100 * p)}% ${c.mixing.a}`,
      kind: 'mixture',
      parameter: p,
      moments: mixtureMoments([{ moments: gaussianMoments(A), weight: p }, { moments: gaussianMoments(B), weight: 1 - p }]),
      sampler: mixtureSampler([{ sampler: gaussianSampler(A), weight: p }, { sampler: gaussianSampler(B), weight: 1 - p }]),
    });
  const F = get(c.filtering.source);
  const v = leastSquares(gaussianMoments(get(c.filtering.filterWith)));
  for (const keep of c.filtering.keep) {
    const tau = thresholdForKeep(F, v, keep);
    specs.push({
      name: `${c.filtering.source} filtered ${Math.round(100 * keep)}%`,
      kind: 'filtered',
      parameter: keep,
      moments: filteredMoments(F, v, tau),
      sampler: filteredSampler(gaussianSampler(F), v, tau),
    });
  }
  return specs;
}

/** A design's population classifier and its finite-sample models at every size (mean margin over seeds), with their line. */
function fitDesign(s: DesignSpec, c: TheoryConfig, ref: Gaussian, shift: Gaussian, rng: Rng, d: number): TheoryDesign {
  const w = leastSquares(s.moments);
  const models: TheoryModel[] = [];
  const draws: TheoryDesign['draws'] = [];
  for (const size of c.sizes) {
    let pr = 0;
    let ps = 0;
    for (let seed = 0; seed < c.seedsPerSize; seed++) {
      const wh = fitFiniteSample(s.sampler, size, c.ridge, rng, d);
      const r = margin(wh, ref);
      const t = margin(wh, shift);
      pr += r / c.seedsPerSize;
      ps += t / c.seedsPerSize;
      if (seed < 3) draws.push({ size, probitReference: r, probitShift: t });
    }
    models.push({ size, seeds: c.seedsPerSize, accReference: normalCdf(pr), accShift: normalCdf(ps), probitReference: pr, probitShift: ps });
  }
  const line = fitLine(models.map((m) => ({ x: m.probitReference, y: m.probitShift })))!;
  return {
    name: s.name,
    kind: s.kind,
    parameter: s.parameter,
    population: { accReference: accuracy(w, ref), accShift: accuracy(w, shift), w },
    models,
    draws,
    line,
    kappa: margin(w, shift) / margin(w, ref),
    atX0: 0,
    populationOffLine: line.slope * margin(w, ref) + line.intercept - margin(w, shift),
  };
}

const byName = (designs: TheoryDesign[], n: string): TheoryDesign => designs.find((x) => x.name === n)!;

/** (i) each source's expected models lie on a line, and the population classifier (N → ∞) lies on it. */
function linesClaim(designs: TheoryDesign[]): TheoryResult['claims']['linesPerSource'] {
  const srcs = designs.filter((x) => x.kind === 'source');
  const r2 = Object.fromEntries(srcs.map((x) => [x.name, x.line.r2]));
  const offLine = Object.fromEntries(srcs.map((x) => [x.name, x.populationOffLine]));
  const minR2 = Math.min(...Object.values(r2));
  return { holds: minR2 >= 0.95 && Object.values(offLine).every((v) => Math.abs(v) < 0.05), r2, minR2, populationOffLine: offLine };
}

/** (ii) a mixture's line lies between its sources' lines, below the best (population slopes κ), in order of the share. */
function mixingClaim(c: TheoryConfig, designs: TheoryDesign[]): TheoryResult['claims']['mixingInterpolates'] {
  const kA = byName(designs, c.mixing.a).kappa;
  const kB = byName(designs, c.mixing.b).kappa;
  const [lo, hi] = [Math.min(kA, kB), Math.max(kA, kB)];
  const rows = designs
    .filter((x) => x.kind === 'mixture')
    .sort((p, q) => p.parameter! - q.parameter!)
    .map((x) => ({
      design: x.name,
      share: x.parameter!,
      kappa: x.kappa,
      interpolatedKappa: x.parameter! * kA + (1 - x.parameter!) * kB,
      atX0: x.atX0,
      between: x.kappa > lo && x.kappa < hi,
      belowBest: x.kappa < hi,
    }));
  const seq = [kB, ...rows.map((r) => r.kappa), kA];
  const monotone = seq.every((k, i) => i === 0 || (kA >= kB ? k > seq[i - 1]! : k < seq[i - 1]!));
  return { holds: rows.every((r) => r.between && r.belowBest) && monotone, rows, monotone };
}

/** (iii) filtering with the robust source's classifier moves the source's line toward the robust line. */
function filteringClaim(c: TheoryConfig, designs: TheoryDesign[]): TheoryResult['claims']['filteringMovesTowardRobust'] {
  const kR = byName(designs, c.filtering.filterWith).kappa;
  const kS = byName(designs, c.filtering.source).kappa;
  const rows = designs
    .filter((x) => x.kind === 'filtered')
    .sort((p, q) => q.parameter! - p.parameter!)
    .map((x) => ({ design: x.name, keep: x.parameter!, kappa: x.kappa, atX0: x.atX0, gapToRobust: kR - x.kappa }));
  const gaps = [kR - kS, ...rows.map((r) => r.gapToRobust)];
  const monotone = gaps.every((g, i) => i === 0 || Math.abs(g) < Math.abs(gaps[i - 1]!));
  return { holds: monotone && rows.every((r) => Math.abs(r.gapToRobust) < Math.abs(kR - kS)), rows, monotone };
}

function monteCarloChecks(c: TheoryConfig, specs: DesignSpec[], ref: Gaussian, shift: Gaussian, rng: Rng, d: number): MonteCarloCheck[] {
  const checks: MonteCarloCheck[] = [];
  const push = (what: string, closedForm: number, mc: number, se: number): void => {
    const z = Math.abs(closedForm - mc) / se;
    checks.push({ what, closedForm, monteCarlo: mc, se, z, ok: z < 4.5 });
  };
  // Accuracy of the closed-form classifier of a source, a mixture and a filtered source, on both tests.
  const pick = (kind: TheoryDesign['kind'], last = false): DesignSpec[] => {
    const list = specs.filter((x) => x.kind === kind);
    return list.length === 0 ? [] : [last ? list[list.length - 1]! : list[Math.floor((list.length - 1) / 2)]!];
  };
  const chosen = [specs[0]!, ...pick('mixture'), ...pick('filtered', true)];
  for (const s of chosen) {
    const w = leastSquares(s.moments);
    for (const [label, t] of [['reference', ref], ['shift', shift]] as const) {
      const mc = monteCarloAccuracy(w, t, c.monteCarloDraws, rng);
      push(`accuracy of ${s.name} on ${label}`, accuracy(w, t), mc.acc, mc.se);
    }
  }
  // The training moments behind the closed form (mixture and truncated-Gaussian filtering): E[y·uᵀx]
  // along the design's own classifier direction u, closed form against the sample mean of draws.
  for (const s of [...pick('mixture'), ...pick('filtered')]) {
    const draws = Math.round(c.monteCarloDraws / 3);
    const emp = empiricalMoments(s.sampler, draws, rng, d, false);
    const w = leastSquares(s.moments);
    const u = w.map((x) => x / norm(w));
    // The sample mean of y·uᵀx has SE √(uᵀSu − (uᵀm)²)/√draws.
    const cf = dot(u, s.moments.m);
    const su = s.moments.S.map((row) => dot(row, u));
    const se = Math.sqrt(Math.max(dot(u, su) - cf * cf, 1e-12) / draws);
    push(`E[y·uᵀx] of ${s.name} (u = its classifier)`, cf, dot(u, emp.m), se);
  }
  return checks;
}
