// Public API of zero-shot evaluation: `evaluateZeroShot` (what `cliplab eval` and the study runner call) and its parts.
export { evaluateZeroShot, type ZeroShotEvalOptions, type ZeroShotEvalOutput, type EvalProgress } from './zeroshot-eval.js';
export { type EnsembleEntry } from './options.js';
export { openEvalModel, readRunInfo, runInfoFor, type EvalModel, type ModelInfo, type OpenEvalModelOptions } from './model.js';
export { zeroShotHead, type ZeroShotHead, type TextTower, type HeadCache } from './zeroshot-head.js';
export { classificationMetrics, type ClassificationMetrics } from './metrics.js';
export { clopperPearson } from './clopper-pearson.js';
export { loadTemplates, fillTemplate, TEMPLATE_SETS, type TemplateSet } from './templates.js';
export {
  imagenetSuite,
  testbedSuite,
  imageFolderSpec,
  imagenetSubsetClasses,
  objectnetClasses,
  IMAGENET_DATASETS,
  IMAGENET_FOLDERS,
  SUITES,
  type DatasetSpec,
  type EvalClass,
  type SuiteName,
} from './suites.js';
export { readImageFolder, IMAGE_EXTENSIONS, type ImageFolder } from './image-folder.js';
export { scoreDataset, classLogits, ZERO_SHOT_LOGIT_SCALE, type EnsembleMember } from './score.js';
export { writeResults, resultFileName } from './write.js';
export { benchEval, type BenchEvalOptions, type BenchEvalResult } from './bench.js';
export { ResultSchema, readResults, parseResult, type Result } from './result.js';
