// The testbed's fixed vocabulary: training sources (style + caption convention), evaluation sets, defaults.
// Everything downstream (training, eval, demo) names sources and sets through these constants.
import { FAMILY_SETS, type FamilyName } from './families.js';

/** Caption conventions, each drawn from real annotations (see captions.ts and docs/testbed.md). */
export type CaptionConvention =
  | 'alt-text' // CLDR English short name as short alt-text: "grinning face", "Grinning face emoji"
  | 'cldr-keywords' // CLDR English keyword list: "face | grin | happy"
  | 'shortcode-tags' // emojibase shortcode + tags: ":grinning_face: #grin #happy"
  | 'label-category' // emojibase label + group/subgroup: "grinning face, smileys & emotion"
  | 'multilingual' // CLDR short name in one of several locales (WIT-like)
  | 'stock-description'; // stock-photo style description: "Grinning face 3D icon isolated on white background"

export interface SourceSpec {
  /** Source name = family name (see families.ts). */
  name: TrainingSourceName;
  /** One line on the artwork style. */
  style: string;
  convention: CaptionConvention;
}

export const TRAINING_SOURCES = Object.keys(FAMILY_SETS) as FamilyName[];
export type TrainingSourceName = FamilyName;

export const SOURCE_SPECS: readonly SourceSpec[] = [
  { name: 'emoji-flat', style: 'flat colour emoji (Twemoji, Fluent flat, EmojiOne 2 and 1, Firefox OS, Streamline)', convention: 'alt-text' },
  { name: 'emoji-shaded', style: 'shaded or outlined colour emoji (Noto, Fluent 3D, OpenMoji)', convention: 'stock-description' },
  { name: 'line-icons', style: 'monochrome outline UI icons (Tabler, Lucide, Phosphor, Iconoir, … 27 sets)', convention: 'shortcode-tags' },
  { name: 'glyph-icons', style: 'monochrome filled glyphs and silhouettes (Material Design, Font Awesome, game-icons, … 18 sets)', convention: 'label-category' },
  { name: 'color-icons', style: 'multicolour flat icons (IconPark, Flat Color, Fluent Color, Streamline colour, …)', convention: 'multilingual' },
];

/** The sources every evaluation class must be learnable from (see classEligibility); `color-icons` covers fewer concepts, as a niche source does. */
export const CLASS_FAMILIES: readonly TrainingSourceName[] = ['emoji-flat', 'emoji-shaded', 'line-icons', 'glyph-icons'];

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

/** The sets of the evaluation distributions; the shared concepts are those present in all of them. */
export const EVAL_ICON_SET_NAMES = [REFERENCE_SET, ...NATURAL_SHIFTS] as const;

/** Size of the fixed evaluation class subset (the "ImageNet-100"). */
export const EVAL_CLASS_COUNT = 100;
/** Seed of the class-subset selection. Fixed: it does not follow `--seed`, so every build has the same classes. */
export const EVAL_CLASS_SEED = 100;

export const TESTBED_VERSION = 2;

export const DEFAULTS = {
  imageSize: 64,
  misaligned: 0.2,
  seed: 0,
  /** Samples per artwork (one set's icon of one concept): view 0 clean, the rest augmented, each with its own caption. */
  views: 2,
  /** Images per class in the class-subset eval sets (view 0 is the clean rendering, except in the distorted set). */
  evalViews: 5,
  /** Images per class in the `-full` eval sets. */
  evalViewsFull: 2,
  shardSize: 1000,
} as const;
