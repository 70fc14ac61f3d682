// The image side of the testbed: Iconify icon sets read from node_modules and matched to emoji concepts,
// the concepts shared by every set, and the fixed evaluation class subset.
import type { Annotations, Concept } from './annotations.js';
import { normalizeHexcode, readPackageJson } from './annotations.js';
import { EVAL_CLASS_COUNT, EVAL_CLASS_SEED, ICON_SETS, type IconSetName } from './constants.js';
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
  name: IconSetName;
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

/**
 * Matches every icon of a set to a concept. Order of trust: the set's own `chars.json` (code point → icon
 * name, present in twemoji, noto, openmoji, the fluent flat/high-contrast sets); then icon names slugified
 * from emojibase labels, CLDR names and shortcodes; then the set's aliases (untransformed ones only),
 * resolved to their parent icon. Skin-tone variants, the Unicode `components` (skin-tone swatches, hair
 * styles) and names that match nothing are left out. A concept
 * keeps the first icon found and an icon depicts at most one concept.
 */
export function loadIconSet(name: IconSetName, ann: Annotations): IconSetIndex {
  const json = readPackageJson(`@iconify-json/${name}/icons.json`) as IconifyJson;
  const chars = readPackageJson(`@iconify-json/${name}/chars.json`) as Record<string, string>;
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

  for (const [hex, iconName] of Object.entries(chars)) assign(normalizeHexcode(hex), iconName, json.icons[iconName]);
  for (const [iconName, icon] of Object.entries(json.icons)) assign(byName(iconName), iconName, icon);
  for (const [alias, a] of Object.entries(json.aliases ?? {})) {
    if (a.rotate || a.hFlip || a.vFlip) continue;
    let parent = a.parent;
    for (let hops = 0; json.aliases?.[parent] && hops < 8; hops++) parent = json.aliases[parent]!.parent;
    const icon = json.icons[parent];
    if (icon) assign(byName(alias), parent, { ...icon, ...pickBox(a) });
  }
  return { name, icons };
}

function pickBox(a: IconifyAlias): Partial<IconifyIcon> {
  const out: Partial<IconifyIcon> = {};
  if (a.left !== undefined) out.left = a.left;
  if (a.top !== undefined) out.top = a.top;
  if (a.width !== undefined) out.width = a.width;
  if (a.height !== undefined) out.height = a.height;
  return out;
}

export function loadIconSets(ann: Annotations, names: readonly IconSetName[] = ICON_SETS): Map<IconSetName, IconSetIndex> {
  return new Map(names.map((n) => [n, loadIconSet(n, ann)]));
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

/**
 * Whether a concept may be an evaluation class: a single code point (no ZWJ gender/profession variants,
 * no keycaps, no flags), outside symbol-like groups and look-alike families (coloured hearts, clock faces,
 * moon phases, geometric shapes, buttons, arrows).
 */
export function isEvalCandidate(c: Concept): boolean {
  if (c.hexcode.includes('-')) return false;
  if (LOOKALIKE_GROUPS.has(c.group) || LOOKALIKE_SUBGROUPS.has(c.subgroup)) return false;
  return !LOOKALIKE_LABEL.test(c.label);
}

/**
 * The concepts in selection priority: eligible shared concepts shuffled with the fixed EVAL_CLASS_SEED
 * (over the hexcode-sorted list), then the other shared concepts shuffled the same way. The evaluation
 * classes are the first EVAL_CLASS_COUNT; a `--concepts N` build keeps the first N.
 */
export function conceptPriority(shared: readonly string[], ann: Annotations): string[] {
  const sorted = [...shared].sort(compareHex);
  const eligible = sorted.filter((h) => isEvalCandidate(ann.concepts.get(h)!));
  const rest = sorted.filter((h) => !isEvalCandidate(ann.concepts.get(h)!));
  const rng = new Rng(EVAL_CLASS_SEED);
  return [...rng.shuffle(eligible), ...rng.shuffle(rest)];
}

/** The fixed evaluation classes (sorted by hexcode) among `universe` (the priority list or a prefix of it). */
export function evalClasses(priority: readonly string[], ann: Annotations, universe: number = priority.length): string[] {
  const pool = priority.slice(0, universe).filter((h) => isEvalCandidate(ann.concepts.get(h)!));
  return pool.slice(0, EVAL_CLASS_COUNT).sort(compareHex);
}
