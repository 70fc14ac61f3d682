// `cliplab dataset build SPEC --out DIR`, `cliplab dataset score SPEC` and `cliplab dataset stats DIR`:
// dataset designs (see docs/data.md).
import type { Command } from 'commander';
import {
  buildDataset,
  datasetStats,
  DATASET_BUILD_OPTIONS,
  DATASET_SCORE_OPTIONS,
  DATASET_STATS_OPTIONS,
  formatDatasetStats,
  loadSpec,
  scoreDataset,
  type ClipScorerFactory,
} from '../../data/curation/index.js';
import { engineClipScorerFactory, scoringDevice } from '../../data/curation/clip-scorer.js';
import { info } from '../../util/log.js';
import { addOptions, optionsFromFlags } from '../options.js';

/** The engine's scorer on the asked device, resolved only when a model is loaded (all shards may be scored). */
function scorerFactory(asked: 'cpu' | 'cuda' | 'auto' = 'cpu'): ClipScorerFactory {
  return async (checkpoint) => engineClipScorerFactory({ device: await scoringDevice(asked, info) })(checkpoint);
}

export function register(program: Command): void {
  const dataset = program.command('dataset').description('dataset designs: build from a spec, score, inspect');
  const build = dataset
    .command('build')
    .description('build a dataset design (YAML/JSON spec: sources, counts or proportions, filters, seed) into shards + manifest.json')
    .argument('<spec>', 'spec file (.yaml, .yml or .json)');
  addOptions(build, DATASET_BUILD_OPTIONS)
    .option('--json', 'print the summary as JSON')
    .action(async (specFile: string, flags: Record<string, unknown> & { json?: boolean }) => {
      const { overwrite, device, ...o } = optionsFromFlags(DATASET_BUILD_OPTIONS, flags);
      const out = String(o.out);
      const { spec, baseDir } = loadSpec(specFile);
      const t0 = Date.now();
      const { manifest, resumed } = await buildDataset({ spec, baseDir, specFile, out, overwrite, clipScorerFactory: scorerFactory(device) });
      const summary = {
        out,
        total: manifest.total,
        shards: manifest.shards.length,
        counts: manifest.counts,
        sources: manifest.sources.map((s) => ({ name: s.name, read: s.read, eligible: s.eligible, selected: s.selected, rejected: s.rejected, duplicates: s.duplicates, nearDuplicates: s.nearDuplicates, contaminated: s.contaminated, clipDuplicates: s.clipDuplicates, clipContaminated: s.clipContaminated, corruptImages: s.corruptImages })),
        removed: manifest.removed,
        resumed,
        seconds: Number(((Date.now() - t0) / 1000).toFixed(2)),
      };
      if (flags.json) process.stdout.write(JSON.stringify(summary) + '\n');
      else {
        for (const s of summary.sources) info(`${s.name}: read ${s.read}, eligible ${s.eligible}, selected ${s.selected}${Object.keys(s.rejected).length ? `, rejected ${JSON.stringify(s.rejected)}` : ''}${s.duplicates ? `, duplicates ${s.duplicates}` : ''}${s.nearDuplicates ? `, near duplicates ${s.nearDuplicates}` : ''}${s.contaminated ? `, evaluation copies ${s.contaminated}` : ''}${s.clipDuplicates ? `, CLIP near duplicates ${s.clipDuplicates}` : ''}${s.clipContaminated ? `, CLIP evaluation copies ${s.clipContaminated}` : ''}`);
        process.stdout.write(`wrote ${summary.total} samples in ${summary.shards} shards to ${out}${resumed ? ' (resumed)' : ''}\n`);
      }
    });
  const score = dataset
    .command('score')
    .description("CLIP-score a spec's input shards into per-shard files (filters.clipScore.scores) that dataset build reuses")
    .argument('<spec>', 'spec file with filters.clipScore (checkpoint and scores directory)');
  addOptions(score, DATASET_SCORE_OPTIONS)
    .option('--json', 'print the summary as JSON')
    .action(async (specFile: string, flags: Record<string, unknown> & { json?: boolean }) => {
      const { chunk, device } = optionsFromFlags(DATASET_SCORE_OPTIONS, flags);
      const { spec, baseDir } = loadSpec(specFile);
      const s = await scoreDataset({ spec, baseDir, specFile, chunk, clipScorerFactory: scorerFactory(device) });
      if (flags.json) process.stdout.write(JSON.stringify(s) + '\n');
      else process.stdout.write(`scored ${s.scored} shards (${s.samples} samples), ${s.skipped} already scored, into ${s.dir}\n`);
    });
  const stats = dataset
    .command('stats')
    .description('per-source counts, caption length and vocabulary statistics, CLIP-score histogram')
    .argument('<dir>', 'dataset directory (shards), a .tar or a brace pattern')
    .option('--json', 'print JSON');
  addOptions(stats, DATASET_STATS_OPTIONS)
    .action(async (dir: string, flags: Record<string, unknown> & { json?: boolean }) => {
      const s = await datasetStats(dir, optionsFromFlags(DATASET_STATS_OPTIONS, flags));
      process.stdout.write((flags.json ? JSON.stringify(s) : formatDatasetStats(s)) + '\n');
    });
}
