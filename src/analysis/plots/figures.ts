// The paper's figures as Vega-Lite specs: shift vs reference accuracy on transformed axes (one figure per
// shift and one for the average; y = x, chance, the baseline, each design's line with its 95% band),
// effective-robustness bars with CIs per design, and ER against the mixing proportion. A design has the
// same colour in every figure.
import type { Robustness } from '../robustness-types.js';
import { getTransform, transformAccuracy } from '../transform.js';
import { accuracyAxis } from './axes.js';
import type { VegaLiteSpec } from './render.js';

export interface Figure {
  name: string;
  title: string;
  spec: VegaLiteSpec;
}

const PANEL_W = 600;
const PANEL_H = 420;

type Json = Record<string, unknown>;

/** Tableau 20, reordered so the first ten are the strong tones: one fixed colour per design in every figure. */
const PALETTE = [
  '#4e79a7', '#f28e2b', '#e15759', '#76b7b2', '#59a14f', '#edc948', '#b07aa1', '#ff9da7', '#9c755f', '#bab0ac',
  '#a0cbe8', '#ffbe7d', '#ff9d9a', '#86bcb6', '#8cd17d', '#f1ce63', '#d4a6c8', '#fabfd2', '#d7b5a6', '#79706e',
];

/** The colour scale every figure uses: designs sorted by name, each its own colour. */
export function designColor(r: Robustness): { domain: string[]; range: string[] } {
  const domain = [...new Set(r.models.map((m) => m.design))].sort();
  return { domain, range: domain.map((_, i) => PALETTE[i % PALETTE.length]!) };
}

const CONFIG = { font: 'DejaVu Sans, sans-serif', background: 'white', legend: { labelLimit: 0, titleLimit: 0 }, axis: { labelLimit: 0 } };

function scatterPanel(r: Robustness, dataset: string): Json {
  const t = getTransform(r.transform);
  const rows = r.models.filter((m) => m.dataset === dataset);
  const points = rows.map((m) => ({
    design: m.design,
    model: m.model,
    x: transformAccuracy(t, m.accReference, m.nReference),
    y: transformAccuracy(t, m.accShift, m.nShift),
    ref: +(100 * m.accReference).toFixed(2),
    shift: +(100 * m.accShift).toFixed(2),
  }));
  const chance = r.referenceClasses ? t.forward(1 / r.referenceClasses) : null;
  const xAxis = accuracyAxis(t, [...points.map((p) => p.x), ...(chance === null ? [] : [chance])]);
  const yAxis = accuracyAxis(t, [...points.map((p) => p.y), ...(chance === null ? [] : [chance])]);
  const [x0, x1] = xAxis.domain;
  const lines = r.lines.filter((l) => l.dataset === dataset);
  const fits = lines.flatMap((l) => [l.xRange[0], l.xRange[1]].map((x) => ({ design: l.design, x, y: l.slope * x + l.intercept })));
  const bands = lines.flatMap((l) => (l.band ?? []).map((b) => ({ design: l.design, x: b.x, lo: b.lo, hi: b.hi })));
  const base = r.baseline.lines.find((l) => l.dataset === dataset);
  const baseRows = base ? [x0, x1].map((x) => ({ x, y: base.slope * x + base.intercept })) : [];
  const lo = Math.max(x0, yAxis.domain[0]);
  const hi = Math.min(x1, yAxis.domain[1]);
  const diag = lo < hi ? [{ x: lo, y: lo }, { x: hi, y: hi }] : [];
  const x = {
    field: 'x', type: 'quantitative', title: `${r.reference} accuracy (reference)`,
    scale: { domain: xAxis.domain, zero: false, nice: false },
    axis: { values: xAxis.values, labelExpr: xAxis.labelExpr, grid: true },
  };
  const y = {
    field: 'y', type: 'quantitative', title: `${dataset === r.averageDataset ? 'mean shift' : dataset} accuracy`,
    scale: { domain: yAxis.domain, zero: false, nice: false },
    axis: { values: yAxis.values, labelExpr: yAxis.labelExpr, grid: true },
  };
  const color = { field: 'design', type: 'nominal', scale: designColor(r), legend: { title: 'design', symbolLimit: 0 } };
  const ref = (values: Json[], mark: Json, enc: Json): Json => ({ data: { values }, mark: { clip: true, ...mark }, encoding: enc });
  const layers: Json[] = [
    ref(diag, { type: 'line', color: '#999', strokeDash: [2, 3] }, { x, y }),
    ref(baseRows, { type: 'line', color: '#222', strokeDash: [6, 4] }, { x, y }),
    // Points first: the shared colour legend takes its symbols from the first layer that uses the scale.
    ref(points, { type: 'point', filled: true, size: 45, opacity: 0.9 }, {
      x, y, color,
      tooltip: [{ field: 'model' }, { field: 'design' }, { field: 'ref', title: 'ref %' }, { field: 'shift', title: 'shift %' }],
    }),
    ref(bands, { type: 'area', opacity: 0.15 }, { x, y: { ...y, field: 'lo' }, y2: { field: 'hi' }, color, detail: { field: 'design' } }),
    ref(fits, { type: 'line', strokeWidth: 2 }, { x, y, color, detail: { field: 'design' } }),
  ];
  if (chance !== null) {
    layers.push(
      ref([{ v: chance }], { type: 'rule', color: '#b3261e', strokeDash: [1, 3] }, { x: { ...x, field: 'v' } }),
      ref([{ v: chance }], { type: 'rule', color: '#b3261e', strokeDash: [1, 3] }, { y: { ...y, field: 'v' } }),
      ref([{ x: chance, y: yAxis.domain[1], label: 'chance' }], { type: 'text', color: '#b3261e', align: 'left', baseline: 'top', dx: 3, dy: 3, fontSize: 10 }, { x, y, text: { field: 'label' } }),
    );
  }
  return { width: PANEL_W, height: PANEL_H, layer: layers };
}

/** One scatter per shift (and one for the mean over shifts): probit axes, each design's line with its 95% band. */
export function scatterFigures(r: Robustness): Figure[] {
  return [...r.shifts, r.averageDataset]
    .filter((d) => r.models.some((m) => m.dataset === d))
    .map((d) => ({
      name: `scatter-${d}`,
      title: `${d === r.averageDataset ? 'Mean over shifts' : d} against ${r.reference} (${r.transform} axes): each design's line with its bootstrap 95% band; dashed black: baseline; dotted grey: y = x; red: chance`,
      spec: {
        $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
        title: { text: `${d === r.averageDataset ? 'Mean over shifts' : d} vs ${r.reference}`, subtitle: `${r.transform} axes labelled in accuracy` },
        ...scatterPanel(r, d),
        config: CONFIG,
      } as unknown as VegaLiteSpec,
    }));
}

export function erBarsFigure(r: Robustness): Figure {
  const datasets = [...r.shifts, r.averageDataset];
  const panels = datasets
    .map((dataset) => {
      const rows = r.designs
        .filter((d) => d.dataset === dataset && d.effectiveRobustness)
        .map((d) => ({
          design: d.design,
          kind: d.kind,
          er: 100 * d.effectiveRobustness!.mean,
          lo: 100 * d.effectiveRobustness!.ci95[0],
          hi: 100 * d.effectiveRobustness!.ci95[1],
        }));
      if (rows.length === 0) return null;
      const order = [...rows].sort((a, b) => b.er - a.er).map((d) => d.design);
      const x = { field: 'design', type: 'nominal', sort: order, axis: { labelAngle: -35, title: null } };
      return {
        width: { step: 26 },
        height: 200,
        title: dataset === r.averageDataset ? 'average over shifts' : dataset,
        layer: [
          { data: { values: rows }, mark: { type: 'bar' }, encoding: { x, y: { field: 'er', type: 'quantitative', title: 'ER (pp)' }, color: { field: 'design', type: 'nominal', scale: designColor(r), legend: null } } },
          { data: { values: rows }, mark: { type: 'rule', color: '#222' }, encoding: { x, y: { field: 'lo', type: 'quantitative' }, y2: { field: 'hi' } } },
          { data: { values: [{ z: 0 }] }, mark: { type: 'rule', color: '#666' }, encoding: { y: { field: 'z', type: 'quantitative' } } },
        ],
      };
    })
    .filter((p) => p !== null);
  return {
    name: 'er-bars',
    title: 'Effective robustness per design (mean over models, bootstrap 95% CI)',
    spec: {
      $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
      title: { text: 'Effective robustness by design', subtitle: `against the baseline (${r.baseline.source}); error bars: bootstrap 95% CI over models` },
      columns: 2,
      concat: panels,
      config: CONFIG,
    } as unknown as VegaLiteSpec,
  };
}

export function mixingFigure(r: Robustness): Figure | null {
  const curves = r.mixingCurves.filter((c) => c.dataset === r.averageDataset);
  if (curves.length === 0) return null;
  const panels = curves.map((c) => {
    const pts = c.points.map((p) => ({
      design: p.design, share: 100 * p.proportion, er: 100 * p.effectiveRobustness, lo: 100 * p.ci95[0], hi: 100 * p.ci95[1],
    }));
    const ends = [pts.find((p) => p.share === 0), pts.find((p) => p.share === 100)].filter((p) => p !== undefined);
    const x = { field: 'share', type: 'quantitative', title: `share of ${c.sources[0]} (%, rest ${c.sources[1]})`, scale: { domain: [0, 100] } };
    const y = { field: 'er', type: 'quantitative', title: 'ER (pp), average shift', scale: { zero: false } };
    return {
      width: 280,
      height: 220,
      title: `${c.sources[0]} + ${c.sources[1]}`,
      layer: [
        { data: { values: ends.length === 2 ? ends : [] }, mark: { type: 'line', color: '#999', strokeDash: [5, 4] }, encoding: { x, y } },
        { data: { values: pts }, mark: { type: 'line', point: true }, encoding: { x, y } },
        { data: { values: pts }, mark: { type: 'rule' }, encoding: { x, y: { field: 'lo', type: 'quantitative' }, y2: { field: 'hi' } } },
        { data: { values: pts }, mark: { type: 'text', dy: -10, fontSize: 9 }, encoding: { x, y, text: { field: 'design' } } },
      ],
    };
  });
  return {
    name: 'mixing',
    title: 'Effective robustness against the mixing proportion (dashed: linear interpolation of the sources)',
    spec: {
      $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
      title: { text: 'Mixing sources', subtitle: 'dashed: linear interpolation between the pure sources' },
      columns: 3,
      concat: panels,
      config: CONFIG,
    } as unknown as VegaLiteSpec,
  };
}

export function analysisFigures(r: Robustness): Figure[] {
  const figs = scatterFigures(r);
  if (r.designs.some((d) => d.effectiveRobustness)) figs.push(erBarsFigure(r));
  const mix = mixingFigure(r);
  if (mix) figs.push(mix);
  return figs;
}
