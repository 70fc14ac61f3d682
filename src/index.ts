// The library's public API (`import { … } from 'cliplab'`): one entry point per stage of a study, the
// formats they read and write, and their option and result types. Everything else is internal and may change.
export { buildTestbed, readTestbedManifest, type BuildTestbedOptions, type TestbedManifest } from './data/testbed/index.js';
export { ingest, type IngestOptions } from './data/ingest/ingest.js';
export { buildDataset, readManifestSamples, type BuildOptions, type Manifest, type ManifestSample } from './data/curation/build.js';
export { openLoader, type LoaderOptions, type Batch } from './data/loader/index.js';
export { ALPHA_MODES, type AlphaMode } from './data/images/alpha.js';
export { getTokenizer, type ClipTokenizer } from './data/tokenizer/index.js';
export { loadClipModel, type LoadedModel } from './models/load.js';
export { readSafetensors, writeSafetensors, type NamedTensor, type SafetensorsFile } from './models/safetensors.js';
export { trainClip, type TrainOptions, type TrainResult } from './train/loop.js';
export * from './eval/index.js';
export { analyze, type AnalyzeOptions } from './analysis/analyze.js';
export { runTheory, DEFAULT_THEORY_CONFIG, type TheoryConfig, type TheoryResult } from './analysis/theory/experiments.js';
export { readStudySpec, type StudySpec, type LoadedSpec } from './study/spec.js';
export { planStudy, type StudyPlan } from './study/plan.js';
export { runStudy, type RunStudyOptions, type StudyOutcome } from './study/run-study.js';
