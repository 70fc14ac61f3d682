// The image side of the testbed: Iconify icon sets read from node_modules and matched to emoji concepts,
// the concepts shared by every set, and the fixed evaluation class subset.
import type { Annotations, Concept } from './annotations.js';
import { normalizeHexcode, readOptionalJson, readPackageJson } from './annotations.js';
import { EVAL_CLASS_COUNT, EVAL_CLASS_SEED } from './constants.js';
import { allSetRefs, refKey, type IconSetRef } from './families.js';
import { Rng } from '../../util/rng.js';

/** One icon's SVG as Iconify stores it: the body inside `<svg>` and its view box. */
export interface IconSvg {
  body: string;
  left: number;
  top: number;
  width: number;
  height: number;
}

export interface IconSetIndex {
  /** The set as a photographer: `twemoji`, `ri:fill` (see `refKey`). */
  name: string;
  /** Concept hexcode → the icon that depicts it. */
  icons: Map<string, { icon: string; svg: IconSvg }>;
}

interface IconifyIcon {
  body: string;
  left?: number;
  top?: number;
  width?: number;
  height?: number;
}
interface IconifyAlias extends Partial<IconifyIcon> {
  parent: string;
  rotate?: number;
  hFlip?: boolean;
  vFlip?: boolean;
}
interface IconifyJson {
  icons: Record<string, IconifyIcon>;
  aliases?: Record<string, IconifyAlias>;
  width?: number;
  height?: number;
  left?: number;
  top?: number;
}

/** Style suffixes of UI icon names (`bell-outline`, `cat-bold`, `home-24-regular`), stripped to find the concept name. */
const STYLE_SUFFIX = /-(outline|outlined|rounded|sharp|fill|filled|solid|bold|light|thin|duotone|regular|line|linear|broken|twotone|o|alt|\d+)$/;

export function stripStyleSuffixes(name: string): string {
  let prev: string;
  do {
    prev = name;
    name = name.replace(STYLE_SUFFIX, '');
  } while (name !== prev && name !== '');
  return name === '' ? prev : name;
}

/**
 * Matches every icon of a set to a concept. Emoji sets, in order of trust: the set's own `chars.json`
 * (code point → icon name), then icon names slugified from emojibase labels, CLDR names and shortcodes,
 * then the set's untransformed aliases. UI icon sets (no code points): names with the preferred style
 * suffix first (`bell-line` for `ri:line`), then exact names, then names with style suffixes stripped
 * (`cat-bold` → `cat`). Skin-tone variants, the Unicode `components` and names that match nothing are
 * left out. A concept keeps the first icon found and an icon depicts at most one concept.
 */
export function loadIconSet(ref: IconSetRef, ann: Annotations): IconSetIndex {
  const json = readPackageJson(`@iconify-json/${ref.set}/icons.json`) as IconifyJson;
  const svgOf = (icon: IconifyIcon): IconSvg => ({
    body: icon.body,
    left: icon.left ?? json.left ?? 0,
    top: icon.top ?? json.top ?? 0,
    width: icon.width ?? json.width ?? 16,
    height: icon.height ?? json.height ?? 16,
  });
  const icons = new Map<string, { icon: string; svg: IconSvg }>();
  const used = new Set<string>();
  const assign = (hex: string | undefined, iconName: string, icon: IconifyIcon | undefined): void => {
    const concept = hex === undefined ? undefined : ann.concepts.get(hex);
    if (!hex || !icon || !concept || concept.group === 'components' || icons.has(hex) || used.has(iconName)) return;
    icons.set(hex, { icon: iconName, svg: svgOf(icon) });
    used.add(iconName);
  };
  const byName = (n: string): string | undefined =>
    ann.nameIndex.get(n) ?? ann.nameIndex.get(n.replace(/^flag-for-(flag-)?/, 'flag-'));
  const resolveAlias = (alias: string): IconifyIcon | undefined => {
    const a = json.aliases?.[alias];
    if (!a || a.rotate || a.hFlip || a.vFlip) return undefined;
    let parent = a.parent;
    for (let hops = 0; json.aliases?.[parent] && hops < 8; hops++) parent = json.aliases[parent]!.parent;
    const icon = json.icons[parent];
    return icon ? { ...icon, ...pickBox(a) } : undefined;
  };

  if (ref.kind === 'emoji') {
    const chars = readOptionalJson(`@iconify-json/${ref.set}/chars.json`) as Record<string, string>;
    for (const [hex, iconName] of Object.entries(chars)) assign(normalizeHexcode(hex), iconName, json.icons[iconName]);
    for (const [iconName, icon] of Object.entries(json.icons)) assign(byName(iconName), iconName, icon);
    for (const alias of Object.keys(json.aliases ?? {})) {
      const icon = resolveAlias(alias);
      if (icon) assign(byName(alias), json.aliases![alias]!.parent, icon);
    }
    return { name: refKey(ref), icons };
  }
  const names = Object.keys(json.icons).sort();
  const iconOf = (n: string): IconifyIcon | undefined => json.icons[n];
  if (ref.prefer) {
    const suffix = `-${ref.prefer}`;
    for (const n of names) if (n.endsWith(suffix)) assign(byName(n.slice(0, -suffix.length)), n, iconOf(n));
  }
  for (const n of names) assign(byName(n), n, iconOf(n));
  for (const n of names) assign(byName(stripStyleSuffixes(n)), n, iconOf(n));
  return { name: refKey(ref), icons };
}

function pickBox(a: IconifyAlias): Partial<IconifyIcon> {
  const out: Partial<IconifyIcon> = {};
  if (a.left !== undefined) out.left = a.left;
  if (a.top !== undefined) out.top = a.top;
  if (a.width !== undefined) out.width = a.width;
  if (a.height !== undefined) out.height = a.height;
  return out;
}

const loaded = new WeakMap<Annotations, Map<string, IconSetIndex>>();

/**
 * Every set the testbed reads, keyed by `refKey` (`twemoji`, `ri:fill`). Parsing ~280 MB of JSON is
 * most of a small build's time, so each set is parsed once per process and annotation table.
 */
export function loadIconSets(ann: Annotations, refs: readonly IconSetRef[] = allSetRefs()): Map<string, IconSetIndex> {
  let cache = loaded.get(ann);
  if (!cache) loaded.set(ann, (cache = new Map()));
  const out = new Map<string, IconSetIndex>();
  for (const r of refs) {
    const key = refKey(r);
    if (!cache.has(key)) cache.set(key, loadIconSet(r, ann));
    out.set(key, cache.get(key)!);
  }
  return out;
}

export function compareHex(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Concepts depicted in every given set, sorted by hexcode. */
export function sharedConcepts(sets: Iterable<IconSetIndex>): string[] {
  const list = [...sets];
  if (list.length === 0) return [];
  return [...list[0]!.icons.keys()].filter((h) => list.every((s) => s.icons.has(h))).sort(compareHex);
}

/** Subgroups whose members look alike or are text-like symbols: left out of the evaluation classes. */
const LOOKALIKE_SUBGROUPS = new Set(['heart', 'skin tone', 'hair style']);
const LOOKALIKE_GROUPS = new Set(['components', 'symbols', 'flags']);
const LOOKALIKE_LABEL = /o’clock|thirty|moon|mailbox|button|sign\b|arrow|keycap|circle|square|diamond|triangle/i;

/** Names whose UI icons depict another thing than the emoji (a computer mouse, a phone's ring, …). */
const HOMONYMS = new Set(['mouse', 'ring', 'cooking', 'seat']);

/**
 * Whether a concept's look allows it as an evaluation class: a single code point (no ZWJ gender/profession
 * variants, no keycaps, no flags), outside symbol-like groups and look-alike families (coloured hearts,
 * clock faces, moon phases, geometric shapes, buttons, arrows), and not a homonym of a UI icon name.
 */
export function isEvalCandidate(c: Concept): boolean {
  if (c.hexcode.includes('-')) return false;
  if (LOOKALIKE_GROUPS.has(c.group) || LOOKALIKE_SUBGROUPS.has(c.subgroup)) return false;
  return !LOOKALIKE_LABEL.test(c.label) && !HOMONYMS.has(c.label);
}

/** Artworks (sets) of a concept each core family must have for the concept to be an evaluation class. */
export const MIN_ARTWORKS_PER_FAMILY = 2;

/**
 * The evaluation-class predicate: a candidate look (isEvalCandidate) drawn by at least
 * MIN_ARTWORKS_PER_FAMILY sets of every family in `core`, so that every such source can learn it.
 */
export function classEligibility(ann: Annotations, core: readonly (readonly IconSetIndex[])[]): (hex: string) => boolean {
  return (hex) =>
    isEvalCandidate(ann.concepts.get(hex)!) && core.every((sets) => sets.filter((s) => s.icons.has(hex)).length >= MIN_ARTWORKS_PER_FAMILY);
}

/**
 * The concepts in selection priority: eligible shared concepts shuffled with the fixed EVAL_CLASS_SEED
 * (over the hexcode-sorted list), then the other shared concepts shuffled the same way. The evaluation
 * classes are the first EVAL_CLASS_COUNT; a `--concepts N` build keeps the first N.
 */
export function conceptPriority(shared: readonly string[], eligible: (hex: string) => boolean): string[] {
  const sorted = [...shared].sort(compareHex);
  const rng = new Rng(EVAL_CLASS_SEED);
  return [...rng.shuffle(sorted.filter(eligible)), ...rng.shuffle(sorted.filter((h) => !eligible(h)))];
}

/** The fixed evaluation classes (sorted by hexcode) among `universe` (the priority list or a prefix of it). */
export function evalClasses(priority: readonly string[], eligible: (hex: string) => boolean, universe: number = priority.length): string[] {
  return priority.slice(0, universe).filter(eligible).slice(0, EVAL_CLASS_COUNT).sort(compareHex);
}
