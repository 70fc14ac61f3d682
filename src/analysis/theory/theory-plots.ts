// Figures of the theory model: expected models and population lines per design on probit axes
// (sources; mixtures; filtering), and the line heights against the mixing share and the kept fraction.
import { accuracyAxis } from '../plots/axes.js';
import type { Figure } from '../plots/figures.js';
import type { VegaLiteSpec } from '../plots/render.js';
import { probit } from '../transform.js';
import type { TheoryDesign, TheoryResult } from './experiments.js';

type Json = Record<string, unknown>;

function linesPanel(title: string, designs: TheoryDesign[], all: TheoryDesign[]): Json {
  const pts = designs.flatMap((d) => d.models.map((m) => ({ design: d.name, x: m.probitReference, y: m.probitShift, size: m.size })));
  const draws = designs.flatMap((d) => d.draws.map((m) => ({ design: d.name, x: m.probitReference, y: m.probitShift })));
  const pop = designs.map((d) => ({ design: d.name, x: probit.forward(d.population.accReference), y: probit.forward(d.population.accShift) }));
  const xs = [0, ...pts.map((p) => p.x), ...pop.map((p) => p.x)];
  const ys = [0, ...pts.map((p) => p.y), ...pop.map((p) => p.y)];
  const xa = accuracyAxis(probit, xs, 0.05);
  const ya = accuracyAxis(probit, ys, 0.05);
  const lines = designs.flatMap((d) => [0, xa.domain[1]].map((x) => ({ design: d.name, x, y: d.kappa * x })));
  const x = { field: 'x', type: 'quantitative', title: 'reference accuracy', scale: { domain: xa.domain, nice: false, zero: false }, axis: { values: xa.values, labelExpr: xa.labelExpr } };
  const y = { field: 'y', type: 'quantitative', title: 'shift accuracy', scale: { domain: ya.domain, nice: false, zero: false }, axis: { values: ya.values, labelExpr: ya.labelExpr } };
  const color = { field: 'design', type: 'nominal', scale: { domain: all.map((d) => d.name) }, legend: { title: 'design', labelLimit: 300 } };
  return {
    width: 260,
    height: 240,
    title,
    layer: [
      { data: { values: lines }, mark: { type: 'line', strokeDash: [5, 3], clip: true }, encoding: { x, y, color, detail: { field: 'design' } } },
      { data: { values: draws }, mark: { type: 'point', size: 10, opacity: 0.3, clip: true }, encoding: { x, y, color } },
      { data: { values: pts }, mark: { type: 'point', filled: true, size: 35, clip: true }, encoding: { x, y, color, tooltip: [{ field: 'design' }, { field: 'size' }] } },
      { data: { values: pop }, mark: { type: 'point', shape: 'diamond', filled: true, size: 110, stroke: '#000', strokeWidth: 1, clip: true }, encoding: { x, y, color } },
    ],
  };
}

function curvePanel(title: string, xTitle: string, rows: { p: number; acc: number; what: string }[], reverse = false): Json {
  const x = { field: 'p', type: 'quantitative', title: xTitle, scale: { reverse } };
  const y = { field: 'acc', type: 'quantitative', title: 'shift acc. at x0 (%)', scale: { zero: false } };
  return {
    width: 260,
    height: 220,
    title,
    data: { values: rows },
    mark: { type: 'line', point: true },
    encoding: {
      x,
      y,
      color: { field: 'what', type: 'nominal', legend: { title: null, orient: 'bottom', labelLimit: 300 } },
      strokeDash: { field: 'what', type: 'nominal', legend: { title: null, orient: 'bottom', labelLimit: 300 } },
    },
  };
}

export function theoryFigures(r: TheoryResult): Figure[] {
  const c = r.config;
  const byName = (n: string): TheoryDesign => r.designs.find((d) => d.name === n)!;
  const sources = r.designs.filter((d) => d.kind === 'source');
  const mixes = [byName(c.mixing.b), ...r.designs.filter((d) => d.kind === 'mixture'), byName(c.mixing.a)];
  const filt = [byName(c.filtering.source), ...r.designs.filter((d) => d.kind === 'filtered'), byName(c.filtering.filterWith)];
  const lines: Figure = {
    name: 'theory-lines',
    title: 'Theory: models of each design lie on a line in probit space',
    spec: {
      $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
      title: {
        text: 'Theory model: probit lines per design',
        subtitle: 'dots: expected model per training size; faint: single draws; diamond: population (N → ∞); dashed: line through chance with slope κ',
      },
      columns: 3,
      concat: [
        linesPanel('(i) one line per source', sources, r.designs),
        linesPanel('(ii) mixing interpolates', mixes, r.designs),
        linesPanel('(iii) filtering moves toward robust', filt, r.designs),
      ],
      config: { font: 'DejaVu Sans, sans-serif', background: 'white' },
    } as unknown as VegaLiteSpec,
  };
  const pct = (k: number): number => 100 * probit.inverse(k * r.x0.probit);
  const kA = byName(c.mixing.a).kappa;
  const kB = byName(c.mixing.b).kappa;
  const mixRows = [
    ...[{ p: 0, k: kB }, ...r.claims.mixingInterpolates.rows.map((m) => ({ p: m.share, k: m.kappa })), { p: 1, k: kA }].map((m) => ({
      p: 100 * m.p, acc: pct(m.k), what: 'mixture',
    })),
    ...[0, 1].map((p) => ({ p: 100 * p, acc: pct(p * kA + (1 - p) * kB), what: 'interpolation' })),
  ];
  const kR = byName(c.filtering.filterWith).kappa;
  const filtRows = [
    { p: 100, acc: pct(byName(c.filtering.source).kappa), what: `${c.filtering.source} filtered` },
    ...r.claims.filteringMovesTowardRobust.rows.map((f) => ({ p: 100 * f.keep, acc: pct(f.kappa), what: `${c.filtering.source} filtered` })),
    ...[100, Math.min(...c.filtering.keep.map((k) => 100 * k))].map((p) => ({ p, acc: pct(kR), what: `${c.filtering.filterWith} (no filter)` })),
  ];
  const curves: Figure = {
    name: 'theory-curves',
    title: `Theory: line height at reference accuracy ${(100 * r.x0.accuracy).toFixed(1)}% against mixing share and kept fraction`,
    spec: {
      $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
      title: { text: 'Dilution and filtering in the theory model', subtitle: `shift accuracy on each population line at reference accuracy ${(100 * r.x0.accuracy).toFixed(1)}%` },
      concat: [
        curvePanel(`mixing ${c.mixing.a} into ${c.mixing.b}`, `share of ${c.mixing.a} (%)`, mixRows),
        curvePanel(`filtering ${c.filtering.source} with ${c.filtering.filterWith}'s classifier`, 'kept fraction (%)', filtRows, true),
      ],
      resolve: { scale: { color: 'independent', strokeDash: 'independent' } },
      config: { font: 'DejaVu Sans, sans-serif', background: 'white' },
    } as unknown as VegaLiteSpec,
  };
  return [lines, curves];
}
