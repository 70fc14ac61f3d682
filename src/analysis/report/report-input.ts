// What a report shows, gathered from a directory: an analysis (DIR/robustness.json, or result files in
// DIR analyzed on the fly), the theory experiment (DIR/theory.json or DIR/theory/theory.json), samples.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { readResults } from '../../eval/result.js';
import { InputError } from '../../util/errors.js';
import { analyze } from '../analyze.js';
import type { Robustness } from '../robustness-types.js';
import type { TheoryResult } from '../theory/experiments.js';
import { type SampleGroup, readSamples, samplesRoot } from './samples.js';

export interface ReportInput {
  dir: string;
  analysis: Robustness | null;
  theory: TheoryResult | null;
  samples: SampleGroup[];
  /** Where the analysis came from: the robustness.json file, or the results directory analyzed live. */
  analysisSource: string | null;
}

function readJson<T>(file: string): T {
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as T;
  } catch (err) {
    throw new InputError(file, `not valid JSON (${(err as Error).message})`);
  }
}

export function theoryFile(dir: string): string | null {
  for (const f of [join(dir, 'theory.json'), join(dir, 'theory', 'theory.json')]) if (existsSync(f)) return f;
  return null;
}

/** Re-run an analysis from the inputs and options it recorded. */
export function reanalyze(prev: Robustness): Robustness {
  const results = readResults(prev.inputs.paths);
  return analyze(results, {
    reference: prev.options.reference ?? undefined,
    classes: prev.options.classes ?? undefined,
    transform: prev.options.transform,
    baseline: prev.options.baseline,
    seed: prev.options.seed,
    resamples: prev.options.resamples,
    inputPaths: prev.inputs.paths,
    samplesDir: prev.samplesDir,
  });
}

export interface LoadOptions {
  /** Re-run the analysis from its recorded inputs instead of reading robustness.json as written. */
  reanalyze?: boolean;
}

export async function loadReportInput(dir: string, opts: LoadOptions = {}): Promise<ReportInput> {
  if (!existsSync(dir)) throw new InputError(dir, 'no such directory');
  const rj = join(dir, 'robustness.json');
  let analysis: Robustness | null = null;
  let analysisSource: string | null = null;
  if (existsSync(rj)) {
    analysis = readJson<Robustness>(rj);
    if (!Array.isArray(analysis.lines) || !Array.isArray(analysis.models)) throw new InputError(rj, 'not a robustness.json (no lines/models)');
    if (opts.reanalyze && analysis.inputs?.paths?.length && analysis.options) analysis = reanalyze(analysis);
    analysisSource = rj;
  } else {
    const tf = theoryFile(dir);
    const results = readResults([dir]);
    if (results.length > 0) {
      analysis = analyze(results, { inputPaths: [dir] });
      analysisSource = dir;
    } else if (!tf) throw new InputError(dir, 'no robustness.json, result files or theory.json to report on');
  }
  const tf = theoryFile(dir);
  const theory = tf ? readJson<TheoryResult>(tf) : null;
  const root = samplesRoot(dir, analysis?.samplesDir);
  const samples = root ? await readSamples(root) : [];
  return { dir, analysis, theory, samples, analysisSource };
}
