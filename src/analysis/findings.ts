// The study's findings in a few numbers (findings.json + findings.md): best single-source accuracy against
// chance, the most robust source per shift with ER CIs, dilution by mixing, output vs input mixing, size
// scaling and filtering — read off robustness.json and the result files, stating what the run shows.
import type { DesignRecord, Robustness } from '../analysis/robustness-types.js';
import type { LoadedResult } from '../eval/result.js';

export interface Findings {
  reference: string;
  shifts: string[];
  baseline: string[] | string;
  bestSingleSource: { model: string; design: string; acc1: number; classes: number; chance: number; timesChance: number } | null;
  /** Per shift (and average): source designs ordered by mean ER (accuracy points), with 95% CIs. */
  sourcesByEr: Record<string, { design: string; er: number; ci95: [number, number] }[]>;
  mixing: {
    mixture: string;
    dataset: string;
    proportions: Record<string, number>;
    between: boolean;
    belowBest: boolean;
    dilutionPoints: number;
    ensemble: string | null;
    outputPredictsInput: boolean | null;
  }[];
  sizeScaling: { design: string; dataset: string; p: number; onLine: boolean }[];
  /** Per design, its models by training set size: reference accuracy and ER averaged over shifts (points). */
  bySize: Record<string, { model: string; size: number; samplesSeen: number; accReference: number; accShift: number; er: number | null }[]>;
  filtering: { filtered: string; source: string; dataset: string; erFiltered: [number, number, number]; erSource: [number, number, number] }[];
}

const pts = (x: number): number => Number((100 * x).toFixed(2));

function erOf(d: DesignRecord | undefined): [number, number, number] | null {
  const e = d?.effectiveRobustness;
  return e ? [pts(e.mean), pts(e.ci95[0]), pts(e.ci95[1])] : null;
}

export function studyFindings(r: Robustness, results: LoadedResult[]): Findings {
  const datasets = [...r.shifts, r.averageDataset];
  const kindOf = (design: string): string | undefined => r.designInfo[design]?.kind;
  let best: Findings['bestSingleSource'] = null;
  for (const { result } of results) {
    if (result.dataset !== r.reference || kindOf(result.design) !== 'source') continue;
    const classes = typeof result.classes === 'object' && result.classes.count ? result.classes.count : result.per_class ? Object.keys(result.per_class).length : 0;
    if (!best || result.metrics.acc1 > best.acc1) {
      const chance = classes > 0 ? 1 / classes : NaN;
      best = { model: result.model, design: result.design, acc1: result.metrics.acc1, classes, chance, timesChance: Number((result.metrics.acc1 / chance).toFixed(2)) };
    }
  }
  const sourcesByEr: Findings['sourcesByEr'] = {};
  for (const ds of datasets) {
    sourcesByEr[ds] = r.designs
      .filter((d) => d.dataset === ds && d.kind === 'source' && d.effectiveRobustness)
      .map((d) => ({ design: d.design, er: pts(d.effectiveRobustness!.mean), ci95: [pts(d.effectiveRobustness!.ci95[0]), pts(d.effectiveRobustness!.ci95[1])] as [number, number] }))
      .sort((a, b) => b.er - a.er);
  }
  const mixing = r.dilution.map((d) => ({
    mixture: d.mixture,
    dataset: d.dataset,
    proportions: d.proportions,
    between: d.between,
    belowBest: d.belowBest,
    dilutionPoints: pts(d.dilution),
    ensemble: d.ensemble?.design ?? null,
    outputPredictsInput: d.ensemble?.outputPredictsInput ?? null,
  }));
  const sizeScaling = r.sizeScaling.map((s) => ({ design: s.design, dataset: s.dataset, p: Number(s.p.toFixed(3)), onLine: s.onLine }));
  const bySize: Findings['bySize'] = {};
  // A study's models always have sizes; results from other tools may not, and have no place here.
  const sized = r.models.filter((x): x is typeof x & { size: number; samplesSeen: number } => x.dataset === r.averageDataset && x.size !== null && x.samplesSeen !== null);
  for (const m of sized.sort((a, b) => a.size - b.size)) {
    (bySize[m.design] ??= []).push({
      model: m.model,
      size: m.size,
      samplesSeen: m.samplesSeen,
      accReference: pts(m.accReference),
      accShift: pts(m.accShift),
      er: m.effectiveRobustness === null ? null : pts(m.effectiveRobustness),
    });
  }
  const filtering: Findings['filtering'] = [];
  for (const [design, info] of Object.entries(r.designInfo)) {
    if (info.kind !== 'filtered') continue;
    const source = Object.keys(info.sources)[0]!;
    const plain = Object.entries(r.designInfo).find(([, i]) => i.kind === 'source' && Object.keys(i.sources).join() === source)?.[0];
    if (!plain) continue;
    for (const ds of datasets) {
      const f = erOf(r.designs.find((d) => d.design === design && d.dataset === ds));
      const s = erOf(r.designs.find((d) => d.design === plain && d.dataset === ds));
      if (f && s) filtering.push({ filtered: design, source: plain, dataset: ds, erFiltered: f, erSource: s });
    }
  }
  return {
    reference: r.reference,
    shifts: r.shifts,
    baseline: r.baseline.designs ?? r.baseline.source,
    bestSingleSource: best,
    sourcesByEr,
    mixing,
    sizeScaling,
    bySize,
    filtering,
  };
}

const fmt = (x: [number, number, number]): string => `${x[0]} [${x[1]}, ${x[2]}]`;

export function findingsMarkdown(f: Findings): string {
  const out: string[] = ['# Study findings', ''];
  out.push(`Reference ${f.reference}; shifts ${f.shifts.join(', ')}; baseline ${Array.isArray(f.baseline) ? f.baseline.join(', ') : f.baseline}. ER in accuracy points with bootstrap 95% CIs over each design's models; "average" averages accuracies over the shifts first.`, '');
  if (f.bestSingleSource) {
    const b = f.bestSingleSource;
    out.push(`Best single-source model on ${f.reference}: ${b.model} at ${(100 * b.acc1).toFixed(1)}% top-1 over ${b.classes} classes (chance ${(100 * b.chance).toFixed(2)}%, ${b.timesChance}× chance).`, '');
  }
  out.push('## Sources by effective robustness', '', '| shift | sources, most robust first: ER [95% CI] |', '| --- | --- |');
  for (const [ds, list] of Object.entries(f.sourcesByEr)) out.push(`| ${ds} | ${list.map((s) => `${s.design} ${s.er} [${s.ci95[0]}, ${s.ci95[1]}]`).join('; ')} |`);
  out.push('', '## Mixing (input) and ensembles (output)', '', '| mixture | shift | between sources | below best | dilution (pts) | ensemble | output predicts input |', '| --- | --- | --- | --- | --- | --- | --- |');
  for (const m of f.mixing) out.push(`| ${m.mixture} | ${m.dataset} | ${m.between} | ${m.belowBest} | ${m.dilutionPoints} | ${m.ensemble ?? '–'} | ${m.outputPredictsInput ?? '–'} |`);
  out.push('', '## Size scaling (residual vs log size; on line = p ≥ 0.05)', '', '| design | shift | p | on line |', '| --- | --- | --- | --- |');
  for (const s of f.sizeScaling) out.push(`| ${s.design} | ${s.dataset} | ${s.p} | ${s.onLine} |`);
  out.push('', '## Models by size (accuracies and ER averaged over shifts, points)', '', '| design | model | pairs | samples seen | ref acc | shift acc | ER |', '| --- | --- | --- | --- | --- | --- | --- |');
  for (const [d, list] of Object.entries(f.bySize)) for (const m of list) out.push(`| ${d} | ${m.model} | ${m.size} | ${m.samplesSeen} | ${m.accReference} | ${m.accShift} | ${m.er ?? '–'} |`);
  out.push('', '## Filtering', '', '| filtered | source | shift | ER filtered | ER unfiltered |', '| --- | --- | --- | --- | --- |');
  for (const x of f.filtering) out.push(`| ${x.filtered} | ${x.source} | ${x.dataset} | ${fmt(x.erFiltered)} | ${fmt(x.erSource)} |`);
  return out.join('\n') + '\n';
}
