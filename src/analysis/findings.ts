// The study's findings in a few numbers and sentences (findings.json, findings.md, the report's first
// screen), read off robustness.json alone: the best single-source model against chance, how well each
// design's models span a line, sources ordered by ER with CIs, dilution by mixing, output vs input
// mixing, size scaling and filtering — each with its 95% CI, and each said plainly when it does not hold.
import { clopperPearson } from '../eval/clopper-pearson.js';
import type { Robustness } from './robustness-types.js';

type Ci = [number, number];
const pts = (x: number): number => Number((100 * x).toFixed(2));
const ptsCi = (c: Ci): Ci => [pts(c[0]), pts(c[1])];

export interface Findings {
  reference: string;
  shifts: string[];
  baseline: string[] | string;
  classes: number | null;
  chance: number | null;
  /** Accuracies in percent; CI: Clopper–Pearson over the reference images. */
  bestSingleSource: { model: string; design: string; acc1: number; ci95: Ci; timesChance: number | null } | null;
  /** Per design: models, reference accuracy range (percent) and its line's R² per shift. */
  designs: { design: string; kind: string; models: number; refMin: number; refMax: number; span: number; r2: Record<string, number | null> }[];
  baselineR2: Record<string, number | null>;
  /** Per shift (and average): source designs ordered by mean ER (points), with 95% CIs. */
  sourcesByEr: Record<string, { design: string; er: number; ci95: Ci }[]>;
  /** Pairs of source designs whose average-ER CIs do not overlap (first is more robust). */
  separatedSources: [string, string][];
  /** The same per single shift (shifts with no such pair are left out). */
  separatedByShift: Record<string, [string, string][]>;
  mixing: {
    mixture: string;
    dataset: string;
    proportions: Record<string, number>;
    bestSource: string;
    /** Mean shortfall of the mixture's models below the best source's line (points), with CI. */
    shortfall: number;
    shortfallCi95: Ci;
    between: boolean;
    mixturePredicted: number;
    mixtureCi95: Ci;
    ensemble: string | null;
    ensemblePredicted: number | null;
    ensembleCi95: Ci | null;
    outputPredictsInput: boolean | null;
  }[];
  sizeScaling: { design: string; dataset: string; models: number; sizes: number; coefficient: number; ci95: Ci; p: number; onLine: boolean }[];
  /** Per design, its models by training set size: reference accuracy and ER averaged over shifts (points). */
  bySize: Record<string, { model: string; size: number; samplesSeen: number; accReference: number; accShift: number; er: number | null }[]>;
  filtering: { filtered: string; source: string; dataset: string; erFiltered: [number, number, number]; erSource: [number, number, number] }[];
  /** The headline sentences, in the order the report shows them. */
  statements: string[];
}

function bestSingle(r: Robustness, chance: number | null): Findings['bestSingleSource'] {
  let best: Robustness['models'][number] | undefined;
  for (const m of r.models)
    if (m.dataset === r.averageDataset && r.designInfo[m.design]?.kind === 'source' && (!best || m.accReference > best.accReference)) best = m;
  if (!best) return null;
  const ci = clopperPearson(Math.round(best.accReference * best.nReference), best.nReference);
  return {
    model: best.model,
    design: best.design,
    acc1: pts(best.accReference),
    ci95: ptsCi(ci),
    timesChance: chance ? Number((best.accReference / chance).toFixed(1)) : null,
  };
}

function designSpans(r: Robustness): Findings['designs'] {
  const out: Findings['designs'] = [];
  for (const design of [...new Set(r.models.map((m) => m.design))].sort()) {
    const ms = r.models.filter((m) => m.design === design && m.dataset === r.averageDataset);
    if (ms.length === 0) continue;
    const accs = ms.map((m) => m.accReference);
    const r2: Record<string, number | null> = {};
    for (const ds of [...r.shifts, r.averageDataset]) {
      const l = r.lines.find((x) => x.design === design && x.dataset === ds);
      r2[ds] = l?.r2 === null || l?.r2 === undefined ? null : Number(l.r2.toFixed(3));
    }
    const lo = pts(Math.min(...accs));
    const hi = pts(Math.max(...accs));
    out.push({ design, kind: r.designInfo[design]?.kind ?? 'unknown', models: ms.length, refMin: lo, refMax: hi, span: Number((hi - lo).toFixed(2)), r2 });
  }
  return out;
}

function erTable(r: Robustness): Findings['sourcesByEr'] {
  const out: Findings['sourcesByEr'] = {};
  for (const ds of [...r.shifts, r.averageDataset])
    out[ds] = r.designs
      .filter((d) => d.dataset === ds && d.kind === 'source' && d.effectiveRobustness)
      .map((d) => ({ design: d.design, er: pts(d.effectiveRobustness!.mean), ci95: ptsCi(d.effectiveRobustness!.ci95) }))
      .sort((a, b) => b.er - a.er);
  return out;
}

/** Pairs (more robust first) whose ER CIs do not overlap, from a list sorted by ER. */
export function separated(list: { design: string; ci95: Ci }[]): [string, string][] {
  const out: [string, string][] = [];
  for (let i = 0; i < list.length; i++)
    for (let j = i + 1; j < list.length; j++) if (list[i]!.ci95[0] > list[j]!.ci95[1]) out.push([list[i]!.design, list[j]!.design]);
  return out;
}

function mixingRows(r: Robustness): Findings['mixing'] {
  return r.dilution.map((d) => ({
    mixture: d.mixture,
    dataset: d.dataset,
    proportions: d.proportions,
    bestSource: d.bestSource,
    shortfall: pts(d.shortfall.mean),
    shortfallCi95: ptsCi(d.shortfall.ci95),
    between: d.between,
    mixturePredicted: pts(d.predicted.mixture),
    mixtureCi95: ptsCi(d.mixtureCi95),
    ensemble: d.ensemble?.design ?? null,
    ensemblePredicted: d.ensemble ? pts(d.ensemble.predicted) : null,
    ensembleCi95: d.ensemble ? ptsCi(d.ensemble.ci95) : null,
    outputPredictsInput: d.ensemble?.outputPredictsInput ?? null,
  }));
}

function filteringRows(r: Robustness): Findings['filtering'] {
  const erOf = (design: string, ds: string): [number, number, number] | null => {
    const e = r.designs.find((d) => d.design === design && d.dataset === ds)?.effectiveRobustness;
    return e ? [pts(e.mean), pts(e.ci95[0]), pts(e.ci95[1])] : null;
  };
  const out: Findings['filtering'] = [];
  for (const [design, info] of Object.entries(r.designInfo)) {
    if (info.kind !== 'filtered') continue;
    const source = Object.keys(info.sources)[0]!;
    const plain = Object.entries(r.designInfo).find(([, i]) => i.kind === 'source' && Object.keys(i.sources).join() === source)?.[0];
    if (!plain) continue;
    for (const ds of [...r.shifts, r.averageDataset]) {
      const f = erOf(design, ds);
      const s = erOf(plain, ds);
      if (f && s) out.push({ filtered: design, source: plain, dataset: ds, erFiltered: f, erSource: s });
    }
  }
  return out;
}

export function studyFindings(r: Robustness): Findings {
  const classes = r.referenceClasses ?? null;
  const chance = classes ? 1 / classes : null;
  const sourcesByEr = erTable(r);
  const bySize: Findings['bySize'] = {};
  // A study's models always have sizes; results from other tools may not, and have no place here.
  const sized = r.models.filter((x): x is typeof x & { size: number; samplesSeen: number } => x.dataset === r.averageDataset && x.size !== null && x.samplesSeen !== null);
  for (const m of sized.sort((a, b) => a.size - b.size || a.seed - b.seed)) {
    (bySize[m.design] ??= []).push({
      model: m.model,
      size: m.size,
      samplesSeen: m.samplesSeen,
      accReference: pts(m.accReference),
      accShift: pts(m.accShift),
      er: m.effectiveRobustness === null ? null : pts(m.effectiveRobustness),
    });
  }
  const f: Findings = {
    reference: r.reference,
    shifts: r.shifts,
    baseline: r.baseline.designs ?? r.baseline.source,
    classes,
    chance: chance === null ? null : pts(chance),
    bestSingleSource: bestSingle(r, chance),
    designs: designSpans(r),
    baselineR2: Object.fromEntries(r.baseline.lines.map((l) => [l.dataset, l.r2 === null ? null : Number(l.r2.toFixed(3))])),
    sourcesByEr,
    separatedSources: separated(sourcesByEr[r.averageDataset] ?? []),
    separatedByShift: Object.fromEntries(
      r.shifts.map((d) => [d, separated(sourcesByEr[d] ?? [])] as const).filter(([, pairs]) => pairs.length > 0),
    ),
    mixing: mixingRows(r),
    sizeScaling: r.sizeScaling.map((s) => ({
      design: s.design,
      dataset: s.dataset,
      models: s.n,
      sizes: s.sizes.length,
      coefficient: Number(s.slope.toFixed(3)),
      ci95: [Number(s.ci95[0].toFixed(3)), Number(s.ci95[1].toFixed(3))],
      p: Number(s.p.toFixed(3)),
      onLine: s.onLine,
    })),
    bySize,
    filtering: filteringRows(r),
    statements: [],
  };
  f.statements = findingsStatements(f, r.averageDataset);
  return f;
}

const ci = (c: Ci): string => `[${c[0]}, ${c[1]}]`;
const sign = (x: number): string => `${x >= 0 ? '+' : ''}${x}`;

/** The headline sentences: what the run shows, including what it does not. */
export function findingsStatements(f: Findings, average = 'average'): string[] {
  const out: string[] = [];
  const b = f.bestSingleSource;
  if (b) {
    const chance = f.chance !== null ? ` (chance ${f.chance}% over ${f.classes} classes${b.timesChance ? `, ${b.timesChance}× chance` : ''})` : '';
    out.push(`Best single-source model: ${b.design} at ${b.acc1}% ${ci(b.ci95)} top-1 on ${f.reference}${chance}.`);
  }
  const base = Object.entries(f.baselineR2).filter(([d]) => d !== average);
  if (base.length > 0) out.push(`Baseline line R² per shift: ${base.map(([d, v]) => `${d} ${v ?? '–'}`).join(', ')}.`);
  const avg = f.sourcesByEr[average] ?? [];
  if (avg.length > 0) {
    out.push(`Sources by effective robustness (average over shifts, points): ${avg.map((s) => `${s.design} ${sign(s.er)} ${ci(s.ci95)}`).join('; ')}.`);
    out.push(
      f.separatedSources.length > 0
        ? `Sources differ: ${f.separatedSources.map(([a, c]) => `${a} > ${c}`).join(', ')} with non-overlapping 95% CIs.`
        : 'No two sources have non-overlapping 95% CIs on average ER in this run.',
    );
  }
  const byShift = Object.entries(f.separatedByShift);
  if (byShift.length > 0)
    out.push(`On single shifts, sources with non-overlapping 95% CIs on ER: ${byShift.map(([d, pairs]) => `${d}: ${pairs.map(([a, c]) => `${a} > ${c}`).join(', ')}`).join('; ')}.`);
  const dilutedOnShift = f.mixing.filter((m) => m.dataset !== average && m.shortfallCi95[0] > 0);
  if (dilutedOnShift.length > 0)
    out.push(`Diluted on single shifts (mixture below the best source's line, CI above 0): ${dilutedOnShift.map((m) => `${m.mixture} on ${m.dataset}, ${m.shortfall} points ${ci(m.shortfallCi95)} below ${m.bestSource}'s line`).join('; ')}.`);
  for (const m of f.mixing.filter((x) => x.dataset === average)) {
    const shares = Object.entries(m.proportions).map(([k, v]) => `${k} ${Math.round(100 * v)}%`).join(' + ');
    const diluted = m.shortfallCi95[0] > 0 ? 'diluted' : m.shortfallCi95[1] < 0 ? 'above' : 'not distinguishable from';
    let s = `Mixture ${shares}: ${sign(-m.shortfall)} points ${ci([-m.shortfallCi95[1], -m.shortfallCi95[0]])} against ${m.bestSource}'s line (${diluted === 'diluted' ? 'diluted below it' : diluted === 'above' ? 'above it' : 'not distinguishable from it'})`;
    if (m.ensemble)
      s += `; input mixing predicts ${m.mixturePredicted}% ${ci(m.mixtureCi95)} on the average shift, output mixing (ensemble) ${m.ensemblePredicted}% ${ci(m.ensembleCi95!)}${m.outputPredictsInput ? ' — the ensemble predicts the mixture' : ' — outside the ensemble’s band'}`;
    out.push(s + '.');
  }
  const sourceDesigns = new Set(f.designs.filter((d) => d.kind === 'source').map((d) => d.design));
  const sizes = f.sizeScaling.filter((s) => s.dataset === average && sourceDesigns.has(s.design));
  if (sizes.length > 0)
    out.push(
      `More data, same source (size term at fixed reference accuracy, probit per decade): ${sizes
        .map((s) => `${s.design} ${sign(s.coefficient)} ${ci(s.ci95)} (${s.sizes} sizes, ${s.models} models, ${s.onLine ? 'along its line' : 'off its line'})`)
        .join('; ')}.`,
    );
  for (const x of f.filtering.filter((y) => y.dataset === average)) {
    const [fe, fl, fh] = x.erFiltered;
    const [se, sl, sh] = x.erSource;
    const verdict = fl > sh ? 'raises' : fh < sl ? 'lowers' : 'does not measurably change';
    out.push(`CLIP-score filtering ${verdict} effective robustness: ${x.filtered} ${sign(fe)} [${fl}, ${fh}] against ${x.source} ${sign(se)} [${sl}, ${sh}] (average over shifts).`);
  }
  return out;
}

const fmt = (x: [number, number, number]): string => `${x[0]} [${x[1]}, ${x[2]}]`;

export function findingsMarkdown(f: Findings): string {
  const out: string[] = ['# Study findings', ''];
  out.push(`Reference ${f.reference}; shifts ${f.shifts.join(', ')}; baseline ${Array.isArray(f.baseline) ? f.baseline.join(', ') : f.baseline}. Accuracies and ER in points with 95% CIs (bootstrap over each design's models; Clopper–Pearson for one model's accuracy); "average" averages accuracies over the shifts first.`, '');
  for (const s of f.statements) out.push(`- ${s}`);
  out.push('', '## Designs: models, reference accuracy span, line R²', '', `| design | kind | models | ref acc % (min–max) | span | ${[...f.shifts, 'average'].join(' R² | ')} R² |`, `| --- | --- | --- | --- | --- |${[...f.shifts, 'average'].map(() => ' --- |').join('')}`);
  for (const d of f.designs) out.push(`| ${d.design} | ${d.kind} | ${d.models} | ${d.refMin}–${d.refMax} | ${d.span} | ${[...f.shifts, 'average'].map((s) => d.r2[s] ?? '–').join(' | ')} |`);
  out.push('', '## Sources by effective robustness', '', '| shift | sources, most robust first: ER [95% CI] |', '| --- | --- |');
  for (const [ds, list] of Object.entries(f.sourcesByEr)) out.push(`| ${ds} | ${list.map((s) => `${s.design} ${s.er} [${s.ci95[0]}, ${s.ci95[1]}]`).join('; ')} |`);
  out.push('', '## Mixing (input) and ensembles (output)', '', '| mixture | shift | best source | shortfall below its line [CI] | between | mixture line [CI] | ensemble [CI] | output predicts input |', '| --- | --- | --- | --- | --- | --- | --- | --- |');
  for (const m of f.mixing)
    out.push(`| ${m.mixture} | ${m.dataset} | ${m.bestSource} | ${m.shortfall} ${ci(m.shortfallCi95)} | ${m.between} | ${m.mixturePredicted} ${ci(m.mixtureCi95)} | ${m.ensemble ? `${m.ensemble} ${m.ensemblePredicted} ${ci(m.ensembleCi95!)}` : '–'} | ${m.outputPredictsInput ?? '–'} |`);
  out.push('', '## Size scaling (size term of T(shift) on T(ref) and log10 size; on line = p ≥ 0.05)', '', '| design | shift | models | sizes | size term [95% CI] | p | on line |', '| --- | --- | --- | --- | --- | --- | --- |');
  for (const s of f.sizeScaling) out.push(`| ${s.design} | ${s.dataset} | ${s.models} | ${s.sizes} | ${s.coefficient} ${ci(s.ci95)} | ${s.p} | ${s.onLine} |`);
  out.push('', '## Models by size (accuracies and ER averaged over shifts, points)', '', '| design | model | pairs | samples seen | ref acc | shift acc | ER |', '| --- | --- | --- | --- | --- | --- | --- |');
  for (const [d, list] of Object.entries(f.bySize)) for (const m of list) out.push(`| ${d} | ${m.model} | ${m.size} | ${m.samplesSeen} | ${m.accReference} | ${m.accShift} | ${m.er ?? '–'} |`);
  out.push('', '## Filtering', '', '| filtered | source | shift | ER filtered | ER unfiltered |', '| --- | --- | --- | --- | --- |');
  for (const x of f.filtering) out.push(`| ${x.filtered} | ${x.source} | ${x.dataset} | ${fmt(x.erFiltered)} | ${fmt(x.erSource)} |`);
  return out.join('\n') + '\n';
}
