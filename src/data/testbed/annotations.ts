// The text side of the testbed: emoji concepts with their emojibase (label, tags, shortcodes, group) and
// Unicode CLDR (short names and keywords in several locales) annotations, read from node_modules.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { InputError } from '../../util/errors.js';

const require = createRequire(import.meta.url);

/** Locales of the multilingual (WIT-like) captions, besides English. All have CLDR and emojibase data. */
export const CAPTION_LOCALES = ['de', 'fr', 'es', 'it', 'pt', 'nl', 'pl', 'sv', 'ru', 'ja', 'zh', 'ko', 'hi'] as const;

/** One emoji concept (a base emoji: no skin-tone variants). */
export interface Concept {
  /** Uppercase code points joined by '-', without U+FE0F (e.g. `1F600`, `1F468-200D-1F373`). */
  hexcode: string;
  emoji: string;
  /** emojibase English label. */
  label: string;
  /** Display name: CLDR English short name (tts) when CLDR has one, else the emojibase label. */
  name: string;
  group: string;
  subgroup: string;
  /** CLDR English keywords, or emojibase tags when CLDR has none. */
  keywords: string[];
  tags: string[];
  /** Shortcodes from the emojibase, GitHub, iamcal and CLDR presets, deduplicated. */
  shortcodes: string[];
  /** Short names by locale (CLDR, else emojibase's localized label); always has `en`. */
  names: Record<string, string>;
}

interface EmojibaseEntry {
  label: string;
  hexcode: string;
  emoji: string;
  tags?: string[];
  group?: number;
  subgroup?: number;
}

interface CldrFile {
  annotations: { annotations: Record<string, { default?: string[]; tts?: string[] }> };
}

/** `1F600-FE0F` → `1F600`: the key used to join icon sets, emojibase and CLDR. */
export function normalizeHexcode(hex: string): string {
  return hex
    .toUpperCase()
    .split('-')
    .filter((cp) => cp !== 'FE0F' && cp !== '')
    .join('-');
}

export function hexcodeOf(emoji: string): string {
  return normalizeHexcode([...emoji].map((c) => c.codePointAt(0)!.toString(16)).join('-'));
}

/** Lowercase ASCII slug as icon sets name icons: "Grinning face" → `grinning-face`, "A button (blood type)" → `a-button-blood-type`. */
export function slugify(s: string): string {
  return s
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '')
    .toLowerCase()
    .replace(/[’'"“”.:!(),]/g, '')
    .replace(/&/g, 'and')
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '');
}

export function readPackageJson(pkgFile: string): unknown {
  let path: string;
  try {
    path = require.resolve(pkgFile);
  } catch {
    throw new InputError(pkgFile, 'not installed (run npm install)');
  }
  return JSON.parse(readFileSync(path, 'utf8'));
}

/** Like readPackageJson, but `{}` when the package has no such file (e.g. a set without chars.json). */
export function readOptionalJson(pkgFile: string): unknown {
  try {
    require.resolve(pkgFile);
  } catch {
    return {};
  }
  return readPackageJson(pkgFile);
}

export function packageVersion(pkg: string): string {
  return (readPackageJson(`${pkg}/package.json`) as { version: string }).version;
}

function cldrLocale(locale: string): Map<string, { keywords: string[]; name?: string }> {
  const file = readPackageJson(`cldr-annotations-full/annotations/${locale}/annotations.json`) as CldrFile;
  const out = new Map<string, { keywords: string[]; name?: string }>();
  for (const [ch, a] of Object.entries(file.annotations.annotations)) {
    out.set(hexcodeOf(ch), { keywords: a.default ?? [], name: a.tts?.[0] });
  }
  return out;
}

function emojibaseLabels(locale: string): Map<string, string> {
  const data = readPackageJson(`emojibase-data/${locale}/data.json`) as EmojibaseEntry[];
  return new Map(data.map((e) => [normalizeHexcode(e.hexcode), e.label]));
}

export interface Annotations {
  /** Every base emoji emojibase knows, keyed by normalized hexcode. */
  concepts: Map<string, Concept>;
  /** Extra name → hexcode entries used to match icon names: CLDR English names and shortcodes, slugified. */
  nameIndex: Map<string, string>;
}

let cached: Annotations | undefined;

/** Loads emojibase (en + caption locales) and CLDR annotations into concept records (once per process; treat as read-only). */
export function loadAnnotations(): Annotations {
  return (cached ??= readAnnotations());
}

function readAnnotations(): Annotations {
  const data = readPackageJson('emojibase-data/en/data.json') as EmojibaseEntry[];
  const messages = readPackageJson('emojibase-data/en/messages.json') as {
    groups: { key: string; message: string; order: number }[];
    subgroups: { key: string; message: string; order: number }[];
  };
  const groupName = new Map(messages.groups.map((g) => [g.order, g.message]));
  const subgroupName = new Map(messages.subgroups.map((g) => [g.order, g.message]));
  const presets = ['emojibase', 'github', 'iamcal', 'cldr'].map(
    (p) => readPackageJson(`emojibase-data/en/shortcodes/${p}.json`) as Record<string, string | string[]>,
  );
  const shortcodes = new Map<string, string[]>();
  for (const preset of presets) {
    for (const [hex, codes] of Object.entries(preset)) {
      const key = normalizeHexcode(hex);
      const list = shortcodes.get(key) ?? [];
      for (const c of [codes].flat()) if (!list.includes(c)) list.push(c);
      shortcodes.set(key, list);
    }
  }
  const cldrEn = cldrLocale('en');
  const localized = CAPTION_LOCALES.map((loc) => ({ loc, cldr: cldrLocale(loc), eb: emojibaseLabels(loc) }));

  const concepts = new Map<string, Concept>();
  for (const e of data) {
    const hexcode = normalizeHexcode(e.hexcode);
    const en = cldrEn.get(hexcode);
    const names: Record<string, string> = { en: en?.name ?? e.label };
    for (const { loc, cldr, eb } of localized) {
      const n = cldr.get(hexcode)?.name ?? eb.get(hexcode);
      if (n) names[loc] = n;
    }
    concepts.set(hexcode, {
      hexcode,
      emoji: e.emoji,
      label: e.label,
      name: names.en!,
      group: groupName.get(e.group ?? -1) ?? 'other',
      subgroup: subgroupName.get(e.subgroup ?? -1) ?? 'other',
      keywords: en && en.keywords.length > 0 ? en.keywords : (e.tags ?? []),
      tags: e.tags ?? [],
      shortcodes: shortcodes.get(hexcode) ?? [],
      names,
    });
  }

  const nameIndex = new Map<string, string>();
  const add = (name: string, hex: string): void => {
    const s = slugify(name);
    if (s && concepts.has(hex) && !nameIndex.has(s)) nameIndex.set(s, hex);
  };
  for (const c of concepts.values()) add(c.label, c.hexcode);
  for (const [hex, a] of cldrEn) if (a.name) add(a.name, hex);
  for (const [hex, codes] of shortcodes) for (const code of codes) add(code, hex);
  return { concepts, nameIndex };
}
