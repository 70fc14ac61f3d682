// The options of `cliplab dataset build|score|stats`, declared once: each subcommand's flags and the matching
// fields of BuildOptions, ScoreOptions and datasetStats' options derive from these tables. --device is the
// command's: it picks the device of the engine's scorer the command hands the library.
import { chunkKind } from '../ingest/index.js';
import { type OptionsOf, choice, flag, int, option, text } from '../../util/options.js';

const device = option(choice(['cpu', 'cuda', 'auto'] as const), {
  flag: '--device <d>',
  help: 'where CLIP scores and embeddings are computed: cpu, cuda (ORT CUDA provider) or auto (cuda when installed); default cpu',
});

export const DATASET_BUILD_OPTIONS = {
  out: option(text, { flag: '--out <dir>', help: 'output directory (rerun with the same spec to finish an interrupted build)', required: true }),
  overwrite: option(flag, { flag: '--overwrite', help: 'replace a different dataset already in --out' }),
  device,
};

export const DATASET_SCORE_OPTIONS = {
  chunk: option(chunkKind, { flag: '--chunk <i/n>', help: 'score only the shards s (over all sources, in spec order) with s mod n = i: one job of a cluster array' }),
  device,
};

export const DATASET_STATS_OPTIONS = {
  bins: option(int(1), { flag: '--bins <n>', help: 'CLIP-score histogram bins', defaultText: '20' }),
};

export type DatasetBuildFlags = OptionsOf<typeof DATASET_BUILD_OPTIONS>;
export type DatasetScoreFlags = OptionsOf<typeof DATASET_SCORE_OPTIONS>;
export type DatasetStatsOptions = OptionsOf<typeof DATASET_STATS_OPTIONS>;
