// The analysis as tables (one model for CSV, Markdown and the HTML report): lines, models, designs,
// dilution, size scaling. Numbers are formatted here once.
import type { Robustness } from './robustness-types.js';

export type Cell = string | number | null;
export interface Table {
  name: string;
  title: string;
  headers: string[];
  rows: Cell[][];
  /** Printed under the table. */
  caption?: string;
}

const pct = (v: number | null | undefined): Cell => (v === null || v === undefined ? null : +(100 * v).toFixed(2));
const num = (v: number | null | undefined, d = 4): Cell => (v === null || v === undefined || !Number.isFinite(v) ? null : +v.toFixed(d));
const range = (r: [number, number] | null | undefined, d = 3): Cell => (r ? `[${r[0].toFixed(d)}, ${r[1].toFixed(d)}]` : null);
const pctRange = (r: [number, number] | null | undefined): Cell => (r ? `[${(100 * r[0]).toFixed(2)}, ${(100 * r[1]).toFixed(2)}]` : null);

export function analysisTables(r: Robustness): Table[] {
  const tables: Table[] = [];
  tables.push({
    name: 'designs',
    title: 'Effective robustness per design (accuracy points, mean over the design’s models)',
    headers: ['design', 'kind', 'dataset', 'models', 'ref acc %', 'shift acc %', 'ER %', 'ER 95% CI'],
    rows: r.designs.map((d) => [
      d.design, d.kind, d.dataset, d.models, pct(d.accReference), pct(d.accShift),
      pct(d.effectiveRobustness?.mean), pctRange(d.effectiveRobustness?.ci95),
    ]),
    caption: `"${r.averageDataset}" averages each model's accuracies over the shifts first, then compares with the baseline.`,
  });
  tables.push({
    name: 'lines',
    title: `Trend lines: ${r.transform}(shift acc) = slope · ${r.transform}(${r.reference} acc) + intercept`,
    headers: ['design', 'dataset', 'slope', 'slope 95% CI', 'intercept', 'intercept 95% CI', 'R²', 'n'],
    rows: [
      ...r.baseline.lines.map((l) => [
        `(baseline: ${r.baseline.source})`, l.dataset, num(l.slope), range(l.ci95?.slope), num(l.intercept), range(l.ci95?.intercept), num(l.r2), l.n,
      ]),
      ...r.lines.map((l) => [l.design, l.dataset, num(l.slope), range(l.ci95.slope), num(l.intercept), range(l.ci95.intercept), num(l.r2), l.n]),
    ],
  });
  tables.push({
    name: 'models',
    title: 'Models: accuracy and effective robustness against the baseline',
    headers: ['model', 'design', 'dataset', 'size', 'ref acc %', 'shift acc %', 'baseline pred %', 'ER %'],
    rows: r.models.map((m) => [
      m.model, m.design, m.dataset, m.size, pct(m.accReference), pct(m.accShift), pct(m.baselineShift), pct(m.effectiveRobustness),
    ]),
  });
  if (r.dilution.length > 0)
    tables.push({
      name: 'dilution',
      title: 'Dilution: lines compared at the mixture’s mean reference accuracy (predicted shift acc %)',
      headers: ['mixture', 'dataset', 'proportions', 'at ref %', 'mixture', 'sources', 'interpolation', 'dilution', 'between', 'ensemble (output mixing)', 'input − output'],
      rows: r.dilution.map((d) => [
        d.mixture, d.dataset,
        Object.entries(d.proportions).map(([k, v]) => `${k} ${(100 * v).toFixed(0)}%`).join(', '),
        pct(d.atAccReference), pct(d.predicted.mixture),
        Object.entries(d.predicted.sources).map(([k, v]) => `${k} ${(100 * v).toFixed(2)}`).join(', '),
        pct(d.predicted.interpolation), pct(d.dilution), d.between ? 'yes' : 'no',
        d.ensemble ? `${d.ensemble.design} ${(100 * d.ensemble.predicted).toFixed(2)} ${String(pctRange(d.ensemble.ci95))}` : null,
        d.ensemble ? pct(d.ensemble.difference) : null,
      ]),
      caption: 'dilution = best source − mixture; between = the mixture line lies between its sources’ lines there.',
    });
  if (r.sizeScaling.length > 0)
    tables.push({
      name: 'size-scaling',
      title: 'Size scaling: shift accuracy on reference accuracy and log10(size) together, t-test on the size term',
      headers: ['design', 'dataset', 'models', 'sizes', 'size term / decade', '95% CI', 't', 'df', 'p', 'max |resid| %', 'on line'],
      rows: r.sizeScaling.map((s) => [
        s.design, s.dataset, s.n, s.sizes.join(' '), num(s.slope), `[${num(s.ci95[0])}, ${num(s.ci95[1])}]`, num(s.t, 3), s.df, num(s.p, 4), pct(s.maxAbsResidualAcc), s.onLine ? 'yes' : 'no',
      ]),
      caption: 'size term: transformed shift accuracy gained per decade of data at a fixed reference accuracy; on line = p ≥ 0.05.',
    });
  return tables;
}

function csvCell(c: Cell): string {
  if (c === null) return '';
  const s = String(c);
  return /[",\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

export function toCsv(t: Table): string {
  return [t.headers, ...t.rows].map((row) => row.map(csvCell).join(',')).join('\n') + '\n';
}

export function toMarkdown(t: Table): string {
  const esc = (c: Cell): string => (c === null ? '–' : String(c).replace(/\|/g, '\\|'));
  const lines = [
    `### ${t.title}`,
    '',
    `| ${t.headers.join(' | ')} |`,
    `| ${t.headers.map(() => '---').join(' | ')} |`,
    ...t.rows.map((r) => `| ${r.map(esc).join(' | ')} |`),
  ];
  if (t.caption) lines.push('', t.caption);
  return lines.join('\n') + '\n';
}

export function analysisMarkdown(r: Robustness): string {
  const head = [
    `# Robustness analysis`,
    '',
    `Reference: **${r.reference}**; shifts: ${r.shifts.join(', ')}; transform: ${r.transform}; baseline: ${r.baseline.source}` +
      (r.baseline.designs ? ` (${r.baseline.designs.join(', ')})` : r.baseline.file ? ` (${r.baseline.file})` : '') + '.',
    '',
    ...r.notes.map((n) => `- ${n}`),
    ...(r.warnings.length ? ['', '**Warnings**', '', ...r.warnings.map((w) => `- ${w}`)] : []),
    '',
  ];
  return head.join('\n') + analysisTables(r).map(toMarkdown).join('\n');
}
