// The testbed's fixed vocabulary: training sources (style + caption convention), evaluation sets, defaults.
// Everything downstream (training, eval, demo) names sources and sets through these constants.

/** Caption conventions, each drawn from real annotations (see captions.ts and docs/testbed.md). */
export type CaptionConvention =
  | 'alt-text' // CLDR English short name as short alt-text: "grinning face", "Grinning face emoji"
  | 'cldr-keywords' // CLDR English keyword list: "face | grin | happy"
  | 'shortcode-tags' // emojibase shortcode + tags: ":grinning_face: #grin #happy"
  | 'label-category' // emojibase label + group/subgroup: "grinning face, smileys & emotion"
  | 'multilingual' // CLDR short name in one of several locales (WIT-like)
  | 'stock-description'; // stock-photo style description: "Grinning face 3D icon isolated on white background"

export interface SourceSpec {
  /** Source name = icon set name (`@iconify-json/<name>`). */
  name: TrainingSourceName;
  /** One line on the artwork style. */
  style: string;
  convention: CaptionConvention;
}

export const TRAINING_SOURCES = ['twemoji', 'noto', 'openmoji', 'fluent-emoji-flat', 'emojione', 'fluent-emoji'] as const;
export type TrainingSourceName = (typeof TRAINING_SOURCES)[number];

export const SOURCE_SPECS: readonly SourceSpec[] = [
  { name: 'twemoji', style: 'Twitter Twemoji: flat vector, bold shapes, no outlines', convention: 'alt-text' },
  { name: 'noto', style: 'Google Noto (current): soft gradients, rounded shapes', convention: 'cldr-keywords' },
  { name: 'openmoji', style: 'OpenMoji: hand-drawn look, thick black outlines, muted palette', convention: 'shortcode-tags' },
  { name: 'fluent-emoji-flat', style: 'Microsoft Fluent flat: flat colours, simplified geometry', convention: 'label-category' },
  { name: 'emojione', style: 'EmojiOne 2: glossy flat vector, circular faces', convention: 'multilingual' },
  { name: 'fluent-emoji', style: 'Microsoft Fluent "3D" color: gradients, highlights, pseudo-3D shading', convention: 'stock-description' },
];

/** The reference distribution (ImageNet's role). */
export const REFERENCE_SET = 'noto-v1' as const;
/** Icon sets used as natural distribution shifts. */
export const NATURAL_SHIFTS = ['fluent-emoji-high-contrast', 'emojione-monotone'] as const;
/** The synthetic shift of the reference: rotation, scale, background and clutter (ObjectNet-like). */
export const SYNTHETIC_SHIFT = 'noto-v1-distorted' as const;
export const SHIFT_SETS = [...NATURAL_SHIFTS, SYNTHETIC_SHIFT] as const;
export type EvalSetName = typeof REFERENCE_SET | (typeof SHIFT_SETS)[number];
/** Evaluation sets over the fixed class subset; each also has a `<name>-full` variant over all shared concepts. */
export const EVAL_SETS: readonly EvalSetName[] = [REFERENCE_SET, ...SHIFT_SETS];
export const FULL_SUFFIX = '-full';

/** Every icon set the testbed reads; the shared concepts are those present in all of them. */
export const ICON_SETS = [...TRAINING_SOURCES, REFERENCE_SET, ...NATURAL_SHIFTS] as const;
export type IconSetName = (typeof ICON_SETS)[number];

/** Size of the fixed evaluation class subset (the "ImageNet-100"). */
export const EVAL_CLASS_COUNT = 100;
/** Seed of the class-subset selection. Fixed: it does not follow `--seed`, so every build has the same classes. */
export const EVAL_CLASS_SEED = 100;

export const TESTBED_VERSION = 1;

export const DEFAULTS = {
  imageSize: 64,
  misaligned: 0.2,
  seed: 0,
  /** Samples (augmented renderings, each with its own caption) per concept in each training source. */
  perConcept: 6,
  /** Images per class in the class-subset eval sets (view 0 is the clean rendering, except in the distorted set). */
  evalViews: 5,
  /** Images per class in the `-full` eval sets. */
  evalViewsFull: 2,
  shardSize: 1000,
} as const;
