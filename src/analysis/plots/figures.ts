// The paper's figures as Vega-Lite specs: shift vs reference accuracy on transformed axes (one panel per
// shift and one for the average; y = x, the baseline, one fitted line per design), effective-robustness
// bars with CIs per design, and ER against the mixing proportion.
import type { Robustness } from '../robustness-types.js';
import { getTransform, transformAccuracy } from '../transform.js';
import { accuracyAxis } from './axes.js';
import type { VegaLiteSpec } from './render.js';

export interface Figure {
  name: string;
  title: string;
  spec: VegaLiteSpec;
}

const PANEL_W = 250;
const PANEL_H = 230;

type Json = Record<string, unknown>;

function scatterPanel(r: Robustness, dataset: string, designDomain: string[]): Json {
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
  const xAxis = accuracyAxis(t, points.map((p) => p.x));
  const yAxis = accuracyAxis(t, points.map((p) => p.y));
  const [x0, x1] = xAxis.domain;
  const fits = r.lines
    .filter((l) => l.dataset === dataset)
    .flatMap((l) => {
      const pad = 0.05 * (x1 - x0);
      const a = Math.max(x0, l.xRange[0] - pad);
      const b = Math.min(x1, l.xRange[1] + pad);
      return [a, b].map((x) => ({ design: l.design, x, y: l.slope * x + l.intercept }));
    });
  const base = r.baseline.lines.find((l) => l.dataset === dataset);
  const baseRows = base ? [x0, x1].map((x) => ({ x, y: base.slope * x + base.intercept })) : [];
  const lo = Math.max(x0, yAxis.domain[0]);
  const hi = Math.min(x1, yAxis.domain[1]);
  const diag = lo < hi ? [{ x: lo, y: lo }, { x: hi, y: hi }] : [];
  const x = {
    field: 'x', type: 'quantitative', title: `${r.reference} accuracy`,
    scale: { domain: xAxis.domain, zero: false, nice: false },
    axis: { values: xAxis.values, labelExpr: xAxis.labelExpr, grid: true },
  };
  const y = {
    field: 'y', type: 'quantitative', title: 'shift accuracy',
    scale: { domain: yAxis.domain, zero: false, nice: false },
    axis: { values: yAxis.values, labelExpr: yAxis.labelExpr, grid: true },
  };
  const color = { field: 'design', type: 'nominal', scale: { domain: designDomain, scheme: designDomain.length > 10 ? 'tableau20' : 'tableau10' }, legend: { title: 'design' } };
  return {
    width: PANEL_W,
    height: PANEL_H,
    title: dataset === r.averageDataset ? 'average over shifts' : dataset,
    layer: [
      { data: { values: diag }, mark: { type: 'line', color: '#999', strokeDash: [2, 3], clip: true }, encoding: { x, y } },
      { data: { values: baseRows }, mark: { type: 'line', color: '#222', strokeDash: [6, 4], clip: true }, encoding: { x, y } },
      { data: { values: fits }, mark: { type: 'line', clip: true, strokeWidth: 2 }, encoding: { x, y, color, detail: { field: 'design' } } },
      {
        data: { values: points },
        mark: { type: 'point', filled: true, size: 45, opacity: 0.85, clip: true },
        encoding: {
          x, y, color,
          tooltip: [{ field: 'model' }, { field: 'design' }, { field: 'ref', title: 'ref %' }, { field: 'shift', title: 'shift %' }],
        },
      },
    ],
  };
}

export function scatterFigure(r: Robustness): Figure {
  const designs = [...new Set(r.models.map((m) => m.design))].sort();
  const panels = [...r.shifts, r.averageDataset]
    .filter((d) => r.models.some((m) => m.dataset === d))
    .map((d) => scatterPanel(r, d, designs));
  return {
    name: 'scatter',
    title: `Shift accuracy against ${r.reference} accuracy (${r.transform}-scaled axes)`,
    spec: {
      $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
      title: {
        text: `Distribution shift vs ${r.reference} accuracy`,
        subtitle: `${r.transform} axes; solid: fitted line per design; dashed black: baseline; dotted grey: y = x`,
      },
      columns: 3,
      concat: panels,
      resolve: { scale: { color: 'shared' } },
      config: { font: 'DejaVu Sans, sans-serif', background: 'white' },
    } as unknown as VegaLiteSpec,
  };
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
          { data: { values: rows }, mark: { type: 'bar' }, encoding: { x, y: { field: 'er', type: 'quantitative', title: 'ER (pp)' }, color: { field: 'kind', type: 'nominal' } } },
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
      config: { font: 'DejaVu Sans, sans-serif', background: 'white' },
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
      config: { font: 'DejaVu Sans, sans-serif', background: 'white' },
    } as unknown as VegaLiteSpec,
  };
}

export function analysisFigures(r: Robustness): Figure[] {
  const figs = [scatterFigure(r)];
  if (r.designs.some((d) => d.effectiveRobustness)) figs.push(erBarsFigure(r));
  const mix = mixingFigure(r);
  if (mix) figs.push(mix);
  return figs;
}
