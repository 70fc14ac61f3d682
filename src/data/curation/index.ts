// Public entry of dataset curation: specs, the build, stats and the CLIP-score hook.
export { loadSpec, validateSpec, resolveCounts, datasetSpecSchema, type DatasetSpec } from './spec.js';
export { buildDataset, readManifestSamples, BuildInterrupted, type BuildOptions, type Manifest, type ManifestSample, type SourceReport } from './build.js';
export { datasetStats, formatDatasetStats, type DatasetStats } from './stats.js';
export { setClipScorerFactory, getClipScorerFactory, scoreItems, type ClipScorer, type ClipScorerFactory } from './clip-score.js';
export { compileCaptionFilter, openCaptionFilter, datacompMatcher, loadClassNames, imageHash } from './filters.js';
export { scoreDataset, type ScoreOptions, type ScoreSummary } from './score-dataset.js';
export { CLIP_SCORE_PRESETS, clipScoreFilter } from './spec.js';
export { dedupConfig, type Removal } from './dedup.js';
export { DATASET_BUILD_OPTIONS, DATASET_SCORE_OPTIONS, DATASET_STATS_OPTIONS } from './options.js';
