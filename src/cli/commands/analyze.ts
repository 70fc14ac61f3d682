// `cliplab analyze RESULTS… --out DIR`: trend lines, effective robustness, dilution, size scaling, plots.
import { resolve } from 'node:path';
import type { Command } from 'commander';
import { analyze } from '../../analysis/analyze.js';
import { ANALYZE_OPTIONS } from '../../analysis/options.js';
import { writeAnalysis } from '../../analysis/write-analysis.js';
import { readDesignMap } from '../../eval/clip-benchmark.js';
import { readResults } from '../../eval/result.js';
import { withDirLock } from '../../util/dir-lock.js';
import { info, warn } from '../../util/log.js';
import { addOptions, optionsFromFlags } from '../options.js';

export function register(program: Command): void {
  const cmd = program
    .command('analyze')
    .description('fit trend lines and effective robustness from result files; write robustness.json, CSV, Markdown, plots')
    .argument('<results...>', 'result JSON files or directories of them (searched recursively)');
  addOptions(cmd, ANALYZE_OPTIONS)
    .requiredOption('--out <dir>', 'output directory')
    .option('--design-map <file>', 'JSON/YAML: model (or CLIP_benchmark pretrained) → design or {design, design_info, samples_seen, seed}, for results that name no design')
    .option('--samples <dir>', 'folder of sample images per source (samples/<source>/<name>.png + .txt) for the report')
    .option('--no-png', 'SVG plots only')
    .option('--json', 'print robustness.json to stdout')
    .action((paths: string[], o: Record<string, string | boolean | undefined>) =>
      // Held from the start: a second writer is refused before the analysis runs, not after.
      withDirLock(o.out as string, 'analyze', async () => {
        const options = optionsFromFlags(ANALYZE_OPTIONS, o);
        const designMap = o.designMap === undefined ? undefined : readDesignMap(o.designMap as string);
        const results = readResults(paths, { onSkip: (f, why) => info(`skipping ${f}: ${why}`), designMap });
        const unused = designMap ? [...designMap.entries.keys()].filter((k) => !designMap.used.has(k)) : [];
        if (unused.length) warn(`${designMap!.file}: no result matched ${unused.join(', ')}`);
        const r = analyze(results, {
          ...options,
          inputPaths: paths.map((p) => resolve(p)),
          samplesDir: o.samples === undefined ? undefined : resolve(o.samples as string),
        });
        for (const w of r.warnings) warn(w);
        const written = await writeAnalysis(o.out as string, r, { png: o.png !== false });
        if (o.json) process.stdout.write(JSON.stringify(r, null, 2) + '\n');
        else {
          info(`${results.length} results, ${r.designs.length ? new Set(r.designs.map((d) => d.design)).size : 0} designs; reference ${r.reference}; shifts ${r.shifts.join(', ')}`);
          info(`average over shifts: accuracies are averaged first, then compared with the baseline line`);
          process.stdout.write(`${written.json}\n${written.markdown}\n${written.csv.join('\n')}\n${written.plots.join('\n')}\n`);
        }
      }),
    );
}
