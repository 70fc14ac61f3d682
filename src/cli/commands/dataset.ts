// `cliplab dataset build SPEC --out DIR`, `cliplab dataset score SPEC` and `cliplab dataset stats DIR`:
// dataset designs (see docs/data.md).
import type { Command } from 'commander';
import { buildDataset, datasetStats, formatDatasetStats, loadSpec, scoreDataset, type ClipScorerFactory } from '../../data/curation/index.js';
import { engineClipScorerFactory, scoringDevice } from '../../data/curation/clip-scorer.js';
import { parseChunkShare } from '../../data/ingest/index.js';
import { info } from '../../util/log.js';
import { choiceFlag } from '../args.js';

const DEVICE_HELP = 'where CLIP scores and embeddings are computed: cpu, cuda (ORT CUDA provider) or auto (cuda when installed); default cpu';

/** The engine's scorer on the asked device, resolved only when a model is loaded (all shards may be scored). */
function scorerFactory(device: string | undefined): ClipScorerFactory {
  const asked = choiceFlag('--device', device, ['cpu', 'cuda', 'auto'] as const, 'cpu');
  return async (checkpoint) => engineClipScorerFactory({ device: await scoringDevice(asked, info) })(checkpoint);
}

export function register(program: Command): void {
  const dataset = program.command('dataset').description('dataset designs: build from a spec, score, inspect');
  dataset
    .command('build')
    .description('build a dataset design (YAML/JSON spec: sources, counts or proportions, filters, seed) into shards + manifest.json')
    .argument('<spec>', 'spec file (.yaml, .yml or .json)')
    .requiredOption('--out <dir>', 'output directory (rerun with the same spec to finish an interrupted build)')
    .option('--overwrite', 'replace a different dataset already in --out')
    .option('--device <d>', DEVICE_HELP)
    .option('--json', 'print the summary as JSON')
    .action(async (specFile: string, flags: { out: string; overwrite?: boolean; json?: boolean; device?: string }) => {
      const { spec, baseDir } = loadSpec(specFile);
      const t0 = Date.now();
      const { manifest, resumed } = await buildDataset({ spec, baseDir, specFile, out: flags.out, overwrite: flags.overwrite, clipScorerFactory: scorerFactory(flags.device) });
      const summary = {
        out: flags.out,
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
        process.stdout.write(`wrote ${summary.total} samples in ${summary.shards} shards to ${flags.out}${resumed ? ' (resumed)' : ''}\n`);
      }
    });
  dataset
    .command('score')
    .description("CLIP-score a spec's input shards into per-shard files (filters.clipScore.scores) that dataset build reuses")
    .argument('<spec>', 'spec file with filters.clipScore (checkpoint and scores directory)')
    .option('--chunk <i/n>', 'score only the shards s (over all sources, in spec order) with s mod n = i: one job of a cluster array')
    .option('--device <d>', DEVICE_HELP)
    .option('--json', 'print the summary as JSON')
    .action(async (specFile: string, flags: { chunk?: string; device?: string; json?: boolean }) => {
      const { spec, baseDir } = loadSpec(specFile);
      const chunk = flags.chunk === undefined ? undefined : parseChunkShare(flags.chunk);
      const s = await scoreDataset({ spec, baseDir, specFile, chunk, clipScorerFactory: scorerFactory(flags.device) });
      if (flags.json) process.stdout.write(JSON.stringify(s) + '\n');
      else process.stdout.write(`scored ${s.scored} shards (${s.samples} samples), ${s.skipped} already scored, into ${s.dir}\n`);
    });
  dataset
    .command('stats')
    .description('per-source counts, caption length and vocabulary statistics, CLIP-score histogram')
    .argument('<dir>', 'dataset directory (shards), a .tar or a brace pattern')
    .option('--json', 'print JSON')
    .option('--bins <n>', 'CLIP-score histogram bins', '20')
    .action(async (dir: string, flags: { json?: boolean; bins: string }) => {
      const s = await datasetStats(dir, { bins: Math.max(1, Number(flags.bins) || 20) });
      process.stdout.write((flags.json ? JSON.stringify(s) : formatDatasetStats(s)) + '\n');
    });
}
