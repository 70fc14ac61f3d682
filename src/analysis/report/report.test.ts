import { copyFileSync, mkdtempSync, mkdirSync, writeFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { chromium } from 'playwright-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { readResults } from '../../eval/result.js';
import { analyze } from '../analyze.js';
import { writeSyntheticResults } from '../../../test/support/synthetic-results.js';
import { DEFAULT_THEORY_CONFIG, runTheory } from '../theory/experiments.js';
import { writeTheory } from '../theory/write-theory.js';
import { writeAnalysis } from '../write-analysis.js';
import { renderReportHtml } from './html.js';
import { loadReportInput } from './report-input.js';
import { describeWith } from '../../../test/support/external.js';
import { CHROMIUM_PATH, chromiumTool } from '../../../test/support/tools.js';

const CHROMIUM = CHROMIUM_PATH;
const ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];

let dir: string;
let htmlFile: string;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'cliplab-report-'));
  const results = join(dir, 'results');
  await writeSyntheticResults(results);
  const out = join(dir, 'analysis');
  const r = analyze(readResults([results]), { resamples: 200, inputPaths: [results] });
  await writeAnalysis(out, r, { png: false });
  const theory = runTheory({ ...DEFAULT_THEORY_CONFIG, seedsPerSize: 4, monteCarloDraws: 2000 });
  await writeTheory(join(out, 'theory'), theory, { png: false });
  for (const src of ['twemoji', 'openmoji']) {
    mkdirSync(join(out, 'samples', src), { recursive: true });
    for (let i = 0; i < 2; i++) {
      await sharp({ create: { width: 48, height: 48, channels: 3, background: i ? '#e33' : '#39e' } }).png().toFile(join(out, 'samples', src, `img${i}.png`));
      writeFileSync(join(out, 'samples', src, `img${i}.txt`), `an emoji of <thing ${i}> & co`);
    }
  }
  htmlFile = join(dir, 'report.html');
  writeFileSync(htmlFile, await renderReportHtml(await loadReportInput(out)));
});

describe('report', () => {
  it('is self-contained: no external resources', async () => {
    const { readFileSync } = await import('node:fs');
    const html = readFileSync(htmlFile, 'utf8');
    expect(html).not.toMatch(/(src|href)="(https?:)?\/\//);
    expect(html).toContain('data:image/png;base64,');
    expect(html).toContain('an emoji of &lt;thing 0&gt; &amp; co');
  });

});

describeWith(chromiumTool, 'report in headless Chromium', () => {
  it('opens in headless Chromium without console errors, shows every plot, sorts tables; screenshot', async () => {
    const profile = mkdtempSync(join(tmpdir(), 'cliplab-chromium-'));
    const ctx = await chromium.launchPersistentContext(profile, { executablePath: CHROMIUM, headless: true, args: ARGS, viewport: { width: 1400, height: 1000 } });
    try {
      const page = ctx.pages()[0] ?? (await ctx.newPage());
      const errors: string[] = [];
      page.on('console', (m) => {
        if (m.type() === 'error') errors.push(m.text());
      });
      page.on('pageerror', (e) => errors.push(String(e)));
      const requests: string[] = [];
      page.on('request', (r) => requests.push(r.url()));
      await page.goto(`file://${htmlFile}`, { waitUntil: 'load' });
      const figures = await page.$$eval('figure.plot', (els) =>
        els.map((el) => {
          const svg = el.querySelector('svg');
          const box = svg?.getBoundingClientRect();
          return { name: el.getAttribute('data-figure'), w: box?.width ?? 0, h: box?.height ?? 0, marks: svg?.querySelectorAll('path, line, text').length ?? 0 };
        }),
      );
      const names = figures.map((f) => f.name);
      // One scatter per shift (three in the synthetic study) and one for the average, then the other figures.
      expect(names.filter((n) => n!.startsWith('scatter-')).length).toBe(4);
      expect(names).toContain('scatter-average');
      expect(names.filter((n) => !n!.startsWith('scatter-'))).toEqual(['er-bars', 'mixing', 'theory-lines', 'theory-curves']);
      // Every figure fits the 1400-px page (no horizontal scrolling) and its legend is inside the drawing.
      const fits = await page.$$eval('figure.plot', (els) => els.map((el) => el.scrollWidth <= el.clientWidth + 1));
      expect(fits.every(Boolean)).toBe(true);
      // The first screen states the findings, never "most robust" for the baseline design.
      const first = await page.locator('#summary li').allTextContents();
      expect(first.join(' ')).toMatch(/Best single-source model/);
      expect(first.join(' ')).not.toMatch(/most (effectively )?robust design/i);
      for (const f of figures) {
        expect(f.w, f.name!).toBeGreaterThan(200);
        expect(f.h, f.name!).toBeGreaterThan(150);
        expect(f.marks, f.name!).toBeGreaterThan(20);
      }
      expect(await page.locator('figure.sample img').count()).toBe(4);
      const imgOk = await page.$$eval('figure.sample img', (els) => els.every((i) => (i as HTMLImageElement).naturalWidth > 0));
      expect(imgOk).toBe(true);
      // Sort the designs table by ER: descending after two clicks.
      const header = page.locator('#table-designs th', { hasText: 'ER %' });
      await header.click();
      await header.click();
      const ers = await page.$$eval('#table-designs tbody tr', (rows) => rows.map((r) => Number((r as HTMLTableRowElement).cells[6]!.getAttribute('data-v'))));
      expect(ers).toEqual([...ers].sort((a, b) => b - a));
      const shot = join(dir, 'report-screenshot.png');
      await page.screenshot({ path: shot, fullPage: true });
      expect(statSync(shot).size).toBeGreaterThan(20_000);
      // A stable copy to look at after the run.
      copyFileSync(shot, join(tmpdir(), 'cliplab-report-screenshot.png'));
      expect(requests.filter((u) => !u.startsWith('file:') && !u.startsWith('data:'))).toEqual([]);
      expect(errors).toEqual([]);
    } finally {
      await ctx.close();
    }
  });
});
