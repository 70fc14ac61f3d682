// `cliplab report --in DIR --out FILE.html`: the analysis (and theory, samples) as one self-contained page.
import type { Command } from 'commander';
import { renderReportHtml } from '../../analysis/report/html.js';
import { loadReportInput } from '../../analysis/report/report-input.js';
import { writeFileAtomic } from '../../util/fs.js';

export function register(program: Command): void {
  program
    .command('report')
    .description('write one self-contained HTML report from an analysis directory (robustness.json) or a results directory')
    .requiredOption('--in <dir>', 'analyze output (robustness.json, theory.json or theory/, samples/) or a directory of result files')
    .requiredOption('--out <file>', 'HTML file to write')
    .action(async (o: { in: string; out: string }) => {
      const input = await loadReportInput(o.in);
      await writeFileAtomic(o.out, await renderReportHtml(input));
      process.stdout.write(`${o.out}\n`);
    });
}
