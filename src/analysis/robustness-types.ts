// The shape of `robustness.json` (what `cliplab analyze` writes and `report`/`serve` read).
import type { DesignInfo } from '../eval/result.js';
import type { BaselineSpec } from './baseline.js';
import type { TransformName } from './transform.js';

export interface LineRecord {
  design: string;
  /** Shift dataset name, or `average` (mean accuracy over shifts). */
  dataset: string;
  slope: number;
  intercept: number;
  r2: number | null;
  n: number;
  ci95: { slope: [number, number]; intercept: [number, number] };
  /** Transformed reference accuracy range of the models the line was fitted on. */
  xRange: [number, number];
  /** Bootstrap 95% band of the line's prediction over xRange (transformed units); absent in older files. */
  band?: { x: number; lo: number; hi: number }[];
}

export interface BaselineLine {
  dataset: string;
  slope: number;
  intercept: number;
  r2: number | null;
  n: number | null;
  ci95: { slope: [number, number]; intercept: [number, number] } | null;
}

export interface ModelRecord {
  model: string;
  design: string;
  dataset: string;
  accReference: number;
  accShift: number;
  /** Baseline line's prediction of the shift accuracy (accuracy units). */
  baselineShift: number | null;
  /** accShift − baselineShift. */
  effectiveRobustness: number | null;
  /** null when unknown (results from other tools). */
  size: number | null;
  samplesSeen: number | null;
  seed: number;
  nReference: number;
  nShift: number;
}

export interface DesignRecord {
  design: string;
  kind: string;
  dataset: string;
  models: number;
  accReference: number;
  accShift: number;
  effectiveRobustness: { mean: number; ci95: [number, number] } | null;
}

export interface DilutionRecord {
  mixture: string;
  dataset: string;
  proportions: Record<string, number>;
  /** Source name → design used for its line. */
  sourceDesigns: Record<string, string>;
  /** Reference accuracy where the lines are compared (mean over the mixture's models, transformed). */
  atAccReference: number;
  /** Shift accuracy predicted at that point by each line (accuracy units). */
  predicted: { mixture: number; sources: Record<string, number>; interpolation: number };
  /** The same predictions as effective robustness against the baseline line. */
  er: { mixture: number; sources: Record<string, number>; interpolation: number } | null;
  /** Best source minus mixture (accuracy points; > 0 means diluted). */
  dilution: number;
  /** 95% band of the mixture line's prediction at that point (accuracy units). */
  mixtureCi95: [number, number];
  /** The source whose line predicts the most there. */
  bestSource: string;
  /** Mean over the mixture's models of (best source's line − model), with a bootstrap 95% CI (models and line resampled). */
  shortfall: { mean: number; ci95: [number, number] };
  /** Mixture minus interpolation (accuracy points). */
  deviationFromInterpolation: number;
  between: boolean;
  belowBest: boolean;
  /** Output mixing: an ensemble design with the same proportions, if present. */
  ensemble: null | {
    design: string;
    predicted: number;
    ci95: [number, number];
    /** Input mixing minus output mixing (accuracy points). */
    difference: number;
    /** Mixture's prediction lies in the ensemble line's 95% bootstrap band at that point. */
    outputPredictsInput: boolean;
  };
}

export interface MixingCurve {
  sources: [string, string];
  dataset: string;
  /** proportion = share of sources[0]; points for the pure sources (0, 1) and every mixture in between. */
  points: { design: string; proportion: number; effectiveRobustness: number; ci95: [number, number] }[];
}

export interface SizeScalingRecord {
  design: string;
  dataset: string;
  n: number;
  /** Distinct training set sizes, ascending. */
  sizes: number[];
  /** Residuals from the design's own line, transformed units, models in size order. */
  residuals: number[];
  /** Size coefficient c of T(shift) = a + b·T(ref) + c·log10(size) (transformed units per decade), its 95% CI, t and two-sided p (df = n − 3). */
  slope: number;
  ci95: [number, number];
  t: number;
  df: number;
  p: number;
  maxAbsResidualAcc: number;
  /** p ≥ 0.05: no evidence that size moves models off the line. */
  onLine: boolean;
}

export interface Robustness {
  version: 1;
  generatedAt: string;
  transform: TransformName;
  reference: string;
  /** Classes of the reference evaluation (chance = 1 / classes); null or absent when the results do not say. */
  referenceClasses?: number | null;
  shifts: string[];
  averageDataset: string;
  notes: string[];
  baseline: {
    source: 'designs' | 'file' | 'baseline-kind' | 'pooled';
    designs?: string[];
    file?: string;
    lines: BaselineLine[];
  };
  lines: LineRecord[];
  models: ModelRecord[];
  designs: DesignRecord[];
  designInfo: Record<string, DesignInfo>;
  dilution: DilutionRecord[];
  mixingCurves: MixingCurve[];
  sizeScaling: SizeScalingRecord[];
  warnings: string[];
  seed: number;
  resamples: number;
  inputs: { paths: string[]; files: string[] };
  /** The options the analysis ran with, so `serve` can re-run it when results change. */
  options: { reference: string | null; classes?: string | null; transform: TransformName; baseline: BaselineSpec; seed: number; resamples: number };
  /** Per model: where its reference result came from and the provenance it recorded. */
  modelInfo: { model: string; design: string; size: number | null; samplesSeen: number | null; seed: number; file: string; provenance?: Record<string, unknown> }[];
  cliplabVersion: string;
  samplesDir?: string;
}
