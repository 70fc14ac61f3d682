// The report as one self-contained HTML page: figures as inline SVG, sortable tables, theory claims,
// sample thumbnails (base64) with captions, provenance. No external resources. `live` adds the polling
// script that `serve` uses to reload the page when results change.
import { studyFindings } from '../findings.js';
import { analysisFigures, type Figure } from '../plots/figures.js';
import { renderSvg } from '../plots/render.js';
import type { Robustness } from '../robustness-types.js';
import { type Table, analysisTables } from '../tables.js';
import { theoryFigures } from '../theory/theory-plots.js';
import type { ReportInput } from './report-input.js';
import { REPORT_CSS, REPORT_SCRIPT } from './report-assets.js';

export function esc(s: unknown): string {
  return String(s).replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

/** Make the ids inside one inline SVG unique in the page (Vega numbers clip paths from 1 in every SVG). */
export function prefixSvgIds(svg: string, prefix: string): string {
  return svg
    .replace(/<\?xml[^>]*\?>/, '')
    .replace(/\bid="([^"]+)"/g, (_, id: string) => `id="${prefix}-${id}"`)
    .replace(/url\(#([^)]+)\)/g, (_, id: string) => `url(#${prefix}-${id})`)
    .replace(/href="#([^"]+)"/g, (_, id: string) => `href="#${prefix}-${id}"`);
}

async function figureHtml(fig: Figure, index: number): Promise<string> {
  const svg = prefixSvgIds(await renderSvg(fig.spec), `fig${index}`);
  return `<figure class="plot" id="figure-${esc(fig.name)}" data-figure="${esc(fig.name)}">${svg}<figcaption>${esc(fig.title)}</figcaption></figure>`;
}

function tableHtml(t: Table, collapsed = false): string {
  const head = `<thead><tr>${t.headers.map((h) => `<th scope="col" title="sort">${esc(h)}</th>`).join('')}</tr></thead>`;
  const body = t.rows
    .map((r) => `<tr>${r.map((c) => (c === null ? '<td class="na">–</td>' : typeof c === 'number' ? `<td class="num" data-v="${c}">${esc(c)}</td>` : `<td>${esc(c)}</td>`)).join('')}</tr>`)
    .join('');
  const table = `<table class="sortable" id="table-${esc(t.name)}">${head}<tbody>${body}</tbody></table>`;
  const caption = t.caption ? `<p class="caption">${esc(t.caption)}</p>` : '';
  if (collapsed)
    return `<details><summary>${esc(t.title)} (${t.rows.length} rows)</summary><div class="scroll">${table}</div>${caption}</details>`;
  return `<h3>${esc(t.title)}</h3><div class="scroll">${table}</div>${caption}`;
}

/** The first screen: the findings, stated with their CIs (including the ones this run does not show). */
function summaryHtml(r: Robustness): string {
  const items = studyFindings(r).statements;
  return `<ul class="findings">${items.map((i) => `<li>${esc(i)}</li>`).join('')}</ul>`;
}

function provenanceHtml(input: ReportInput, r: Robustness | null): string {
  const rows: [string, string][] = [];
  if (r) {
    rows.push(
      ['analysis', input.analysisSource ?? ''],
      ['generated', r.generatedAt],
      ['cliplab', r.cliplabVersion ?? ''],
      ['reference', r.reference],
      ['shifts', r.shifts.join(', ')],
      ['transform', r.transform],
      ['baseline', `${r.baseline.source}${r.baseline.designs ? `: ${r.baseline.designs.join(', ')}` : ''}${r.baseline.file ? `: ${r.baseline.file}` : ''}`],
      ['bootstrap', `${r.resamples} resamples, seed ${r.seed}`],
      ['inputs', `${r.inputs.files.length} result files from ${r.inputs.paths.join(', ')}`],
    );
  }
  if (input.theory) rows.push(['theory', `seed ${input.theory.config.seed}, ${input.theory.designs.length} designs`]);
  const models = r?.modelInfo?.length
    ? tableHtml(
        {
          name: 'provenance',
          title: 'Models and where their results came from',
          headers: ['model', 'design', 'size', 'samples seen', 'seed', 'result file', 'provenance'],
          rows: r.modelInfo.map((m) => [m.model, m.design, m.size, m.samplesSeen, m.seed, m.file, m.provenance ? JSON.stringify(m.provenance) : null]),
        },
        true,
      )
    : '';
  return `<dl class="prov">${rows.map(([k, v]) => `<dt>${esc(k)}</dt><dd>${esc(v)}</dd>`).join('')}</dl>${models}`;
}

function theoryClaimsHtml(t: NonNullable<ReportInput['theory']>): string {
  const c = t.claims;
  const mark = (b: boolean): string => (b ? '<span class="ok">holds</span>' : '<span class="bad">fails</span>');
  const mcOk = t.monteCarlo.filter((m) => m.ok).length;
  return `<ul class="findings">
<li>(i) Each source's models lie on a line in probit space: ${mark(c.linesPerSource.holds)} (min R² ${c.linesPerSource.minR2.toFixed(3)}).</li>
<li>(ii) Mixing interpolates between the sources' lines, below the best: ${mark(c.mixingInterpolates.holds)}.</li>
<li>(iii) Filtering with the robust source's classifier moves toward the robust line: ${mark(c.filteringMovesTowardRobust.holds)}.</li>
<li>Closed form vs Monte Carlo: ${mcOk}/${t.monteCarlo.length} checks within 4.5 standard errors.</li></ul>`;
}

export interface RenderOptions {
  /** Add the live-reload script polling `/version` (for `serve`), starting at this version. */
  live?: { version: number };
  /** Shown as a banner (e.g. the last re-analysis failed). */
  error?: string;
}

export async function renderReportHtml(input: ReportInput, opts: RenderOptions = {}): Promise<string> {
  const r = input.analysis;
  const sections: string[] = [];
  const nav: string[] = [];
  let figIndex = 0;
  if (r) {
    nav.push('<a href="#summary">Findings</a>', '<a href="#figures">Figures</a>', '<a href="#tables">Tables</a>');
    sections.push(`<section id="summary"><h2>Findings</h2>${summaryHtml(r)}<ul class="notes">${r.notes.map((n) => `<li>${esc(n)}</li>`).join('')}</ul>` +
      (r.warnings.length ? `<div class="warn"><b>Warnings</b><ul>${r.warnings.map((w) => `<li>${esc(w)}</li>`).join('')}</ul></div>` : '') + '</section>');
    const figs: string[] = [];
    for (const f of analysisFigures(r)) figs.push(await figureHtml(f, figIndex++));
    sections.push(`<section id="figures"><h2>Figures</h2>${figs.join('\n')}</section>`);
    const tables = analysisTables(r).map((t) => tableHtml(t, t.name === 'models'));
    sections.push(`<section id="tables"><h2>Tables</h2><p class="hint">Click a column header to sort.</p>${tables.join('\n')}</section>`);
  }
  if (input.theory) {
    nav.push('<a href="#theory">Theory</a>');
    const figs: string[] = [];
    for (const f of theoryFigures(input.theory)) figs.push(await figureHtml(f, figIndex++));
    sections.push(`<section id="theory"><h2>Theory model</h2>${theoryClaimsHtml(input.theory)}${figs.join('\n')}</section>`);
  }
  if (input.samples.length > 0) {
    nav.push('<a href="#samples">Samples</a>');
    const groups = input.samples
      .map(
        (g) =>
          `<div class="source"><h3>${esc(g.source)}</h3><div class="thumbs">${g.images
            .map((i) => `<figure class="sample"><img src="${i.dataUri}" alt="${esc(i.caption ?? i.name)}"><figcaption>${esc(i.caption ?? i.name)}</figcaption></figure>`)
            .join('')}</div></div>`,
      )
      .join('');
    sections.push(`<section id="samples"><h2>Samples per source</h2>${groups}</section>`);
  }
  nav.push('<a href="#provenance">Provenance</a>');
  sections.push(`<section id="provenance"><h2>Provenance</h2>${provenanceHtml(input, r)}</section>`);
  const subtitle = r
    ? `Reference <b>${esc(r.reference)}</b>; shifts ${r.shifts.map(esc).join(', ')}; ${esc(r.transform)} trend lines; ${new Set(r.models.map((m) => m.model)).size} models in ${new Set(r.models.map((m) => m.design)).size} designs.`
    : 'Theory model only.';
  const live = opts.live ? `<span id="live" data-version="${opts.live.version}">live</span>` : '';
  const error = opts.error ? `<div class="error" id="error">${esc(opts.error)}</div>` : '';
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="icon" href="data:,"><title>cliplab report</title><style>${REPORT_CSS}</style></head>
<body><header><h1>cliplab report: data and distributional robustness</h1><p>${subtitle}</p>${live}<nav>${nav.join(' · ')}</nav></header>
${error}<main>${sections.join('\n')}</main>
<script>${REPORT_SCRIPT}</script></body></html>
`;
}
