// The icon sets the testbed reads, grouped into training sources ("families" of sets, each set one
// independent "photographer" of the concepts it depicts) and the held-out sets that play the evaluation
// distributions. Package names, credits and the matching rule per set live here.

/** One icon set: `@iconify-json/<set>`. `prefer`: a style suffix tried first (`ri` → `bell-line`). */
export interface IconSetRef {
  set: string;
  prefer?: string;
  /** Emoji sets are matched to concepts by their chars.json and names; icon sets by names with style suffixes stripped. */
  kind: 'emoji' | 'icons';
}

const emoji = (set: string): IconSetRef => ({ set, kind: 'emoji' });
const icons = (spec: string): IconSetRef => {
  const [set, prefer] = spec.split(':') as [string, string | undefined];
  return prefer ? { set, prefer, kind: 'icons' } : { set, kind: 'icons' };
};

/**
 * The training sources. Each is a family of sets drawn in one broad style by different authors, as a web
 * source is many photographers with one editorial line. Order here is the order in the manifest.
 */
export const FAMILY_SETS = {
  /** Flat colour emoji. */
  'emoji-flat': ['twemoji', 'fluent-emoji-flat', 'emojione', 'emojione-v1', 'fxemoji', 'streamline-emojis'].map(emoji),
  /** Shaded / outlined colour emoji. */
  'emoji-shaded': ['noto', 'fluent-emoji', 'openmoji'].map(emoji),
  /** Monochrome outline (stroke) UI icons. */
  'line-icons': [
    'tabler', 'lucide', 'iconoir', 'ph', 'la', 'icon-park-outline', 'mingcute:line', 'hugeicons', 'pepicons-pencil',
    'akar-icons', 'solar:linear', 'ri:line', 'uil', 'carbon', 'bi', 'clarity', 'system-uicons', 'circum',
    'teenyicons:outline', 'majesticons:line', 'mage', 'lets-icons', 'basil', 'iconamoon', 'streamline-flex',
    'streamline-plump', 'streamline-ultimate',
  ].map(icons),
  /** Monochrome filled glyphs and silhouettes. */
  'glyph-icons': [
    'mdi', 'fa6-solid', 'fa-solid', 'game-icons', 'bxs', 'icon-park-solid', 'fontisto', 'vaadin', 'ri:fill',
    'mingcute:fill', 'solar:bold', 'material-symbols', 'healthicons', 'cil', 'entypo', 'maki', 'ion', 'octicon:16',
  ].map(icons),
  /** Multicolour flat icons (narrow coverage, as a niche web source). */
  'color-icons': [
    'icon-park', 'icon-park-twotone', 'flat-color-icons', 'fluent-color', 'streamline-ultimate-color',
    'streamline-freehand-color', 'duo-icons',
  ].map(icons),
} as const satisfies Record<string, readonly IconSetRef[]>;

export type FamilyName = keyof typeof FAMILY_SETS;

/** Evaluation sets: never in a training source. */
export const EVAL_ICON_SETS = ['noto-v1', 'fluent-emoji-high-contrast', 'emojione-monotone'].map(emoji);

/** Every set the testbed reads, training and evaluation, without duplicates (a set may serve two families under different suffixes). */
export function allSetRefs(): IconSetRef[] {
  const out = new Map<string, IconSetRef>();
  for (const r of [...Object.values(FAMILY_SETS).flat(), ...EVAL_ICON_SETS]) out.set(refKey(r), r);
  return [...out.values()];
}

/** `ri:fill`, `twemoji`: the name of a set as a photographer (a set read with a preferred suffix is its own photographer). */
export function refKey(r: IconSetRef): string {
  return r.prefer ? `${r.set}:${r.prefer}` : r.set;
}

/** Every installed package the testbed reads (for versions in the manifest). */
export function iconPackages(): string[] {
  return [...new Set(allSetRefs().map((r) => `@iconify-json/${r.set}`))].sort();
}
