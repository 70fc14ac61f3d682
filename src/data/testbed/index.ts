// The built-in icon/emoji testbed: public API (build, manifest reader, source and eval set names).
export { buildTestbed } from './build.js';
export { TESTBED_OPTIONS, type BuildTestbedOptions } from './options.js';
export {
  readTestbedManifest,
  sourceShardPaths,
  evalSetPath,
  testbedManifestSchema,
  MANIFEST_FILE,
  type TestbedManifest,
  type TestbedConcept,
  type TestbedSource,
  type TestbedEvalSet,
} from './manifest.js';
export {
  TRAINING_SOURCES,
  SOURCE_SPECS,
  REFERENCE_SET,
  NATURAL_SHIFTS,
  SYNTHETIC_SHIFT,
  SHIFT_SETS,
  EVAL_SETS,
  FULL_SUFFIX,
  EVAL_ICON_SET_NAMES,
  CLASS_FAMILIES,
  EVAL_CLASS_COUNT,
  EVAL_CLASS_SEED,
  DEFAULTS as TESTBED_DEFAULTS,
  TESTBED_VERSION,
  type TrainingSourceName,
  type EvalSetName,
  type CaptionConvention,
  type SourceSpec,
} from './constants.js';
export { FAMILY_SETS, EVAL_ICON_SETS, type FamilyName, type IconSetRef } from './families.js';
