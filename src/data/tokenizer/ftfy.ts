// `fixText`: ftfy 6.1.1's `fix_text` with its default configuration, the first step of OpenCLIP's text cleaning.
// Mojibake repair (re-encode in a single-byte code page, decode as UTF-8, repeat while the text looks bad; also
// mojibake fragments inside otherwise fine text), HTML entities when the line has no '<', C1 controls, Latin
// ligatures, fullwidth forms, curly quotes, line breaks, lone surrogates, terminal escapes, control chars, NFC.
import { CHARMAP_ENCODINGS, HIGH_HALF, MOJIBAKE_CATEGORIES, UTF8_CLUES, type CharmapEncoding } from './ftfy-data.js';
import { ftfyUnescapeHtml } from './html-unescape.js';

/** A character class body that matches exactly the characters of `chars` (every one escaped). */
function cls(chars: string): string {
  let out = '';
  for (const ch of chars) out += `\\u{${ch.codePointAt(0)!.toString(16)}}`;
  return out;
}

const C = Object.fromEntries(Object.entries(MOJIBAKE_CATEGORIES).map(([k, v]) => [k, cls(v)])) as Record<
  keyof typeof MOJIBAKE_CATEGORIES,
  string
>;

// ftfy's BADNESS_RE, alternative by alternative. Python's `\w` and `\s` are Unicode-aware; so are these.
const W = '[\\p{L}\\p{N}_]';
const S = '[\\p{White_Space}\\x1c-\\x1f]';
const BADNESS_RE = new RegExp(
  [
    `[${C.c1}]`,
    `[${C.bad}${C.lower_accented}${C.upper_accented}${C.box}${C.start_punctuation}${C.end_punctuation}${C.currency}${C.numeric}][${C.bad}]`,
    `[${C.bad}][${C.lower_accented}${C.upper_accented}${C.box}${C.start_punctuation}${C.end_punctuation}${C.currency}${C.numeric}]`,
    `[${C.lower_accented}${C.lower_common}${C.box}${C.end_punctuation}${C.currency}${C.numeric}][${C.upper_accented}]`,
    `[${C.box}${C.end_punctuation}${C.currency}${C.numeric}][${C.lower_accented}]`,
    `[${C.lower_accented}${C.box}${C.end_punctuation}][${C.currency}]`,
    `${S}[${C.upper_accented}][${C.currency}]`,
    `[${C.upper_accented}${C.box}${C.end_punctuation}][${C.numeric}]`,
    `[${C.lower_accented}${C.upper_accented}${C.currency}${C.numeric}${C.box}][${C.end_punctuation}][${C.start_punctuation}]`,
    `[${C.currency}${C.numeric}${C.box}][${C.start_punctuation}]`,
    `[a-z][${C.upper_accented}][${C.start_punctuation}${C.currency}]`,
    `[${C.box}][${C.kaomoji}]`,
    `[${C.lower_accented}${C.upper_accented}${C.currency}${C.numeric}${C.start_punctuation}${C.end_punctuation}][${C.box}]`,
    `[${C.box}][${C.end_punctuation}]`,
    `[${C.lower_accented}${C.upper_accented}][${C.end_punctuation}]${W}`,
    // The ligature œ outside of English-looking words.
    '[Œœ][^a-z]',
    // Common Windows-1252 two-character mojibake not covered above.
    `[ÂÃÎÐ][€Šš¢Ÿž\\u00a0\\u00ad®©°·»${C.end_punctuation}–—´]`,
    '×[²³]',
    // Windows-1252 mojibake starting three-character sequences of some South Asian scripts.
    'à[²µ¹¼½¾]',
    // MacRoman mojibake.
    '√[±∂†≠®™´≤≥¥µø]',
    '≈[°¢]',
    '‚Ä[ìîïòôúùû†°¢π]',
    '‚[âó][àä°ê]',
    // Windows-1251 mojibake of U+2000-range characters, and of Latin-1 / Cyrillic (three characters needed).
    'вЂ',
    `[ВГРС][${C.c1}${C.bad}${C.start_punctuation}${C.end_punctuation}${C.currency}°µ][ВГРС]`,
    // Windows-1252 encodings of 'à' and 'á'.
    'Ã[\\u00a0¡]',
    `[a-z]${S}?Ã[ ]`,
    // Windows-1253 mojibake.
    'β€[™\\u00a0Ά\\u00ad®°]',
    `[ΒΓΞΟ][${C.c1}${C.bad}${C.start_punctuation}${C.end_punctuation}${C.currency}°][ΒΓΞΟ]`,
  ].join('|'),
  'u',
);

/** ftfy `is_bad`: the text contains a character sequence that is almost only seen in mojibake. */
export function isBad(text: string): boolean {
  return BADNESS_RE.test(text);
}

interface Codec {
  /** char -> byte for the high half (and U+FFFD -> 0x1A on sloppy pages). */
  encode: Map<string, number>;
  /** `possible_encoding`: every character is ASCII or one the page can encode. */
  possible: RegExp;
}

const CODECS = new Map<CharmapEncoding, Codec>();
for (const enc of CHARMAP_ENCODINGS) {
  const high = HIGH_HALF[enc];
  const encode = new Map<string, number>();
  for (let i = 0; i < 128; i++) encode.set(high[i]!, 0x80 + i);
  // Byte 0x1A decodes to U+FFFD on ftfy's sloppy pages and to itself on the others.
  const sub = enc.startsWith('sloppy') ? '\ufffd' : '\x1a';
  encode.set(sub, 0x1a);
  const extra = high + sub;
  CODECS.set(enc, { encode, possible: new RegExp(`^[\\x00-\\x19\\x1b-\\x7f${cls(extra)}]*$`, 'u') });
}

/** `text.encode(enc)` for text that `possible` accepted. */
function encodeWith(text: string, enc: CharmapEncoding): Uint8Array {
  const { encode } = CODECS.get(enc)!;
  const out = new Uint8Array(text.length);
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    out[i] = c < 0x80 ? c : encode.get(text[i]!)!;
  }
  return out;
}

// ftfy's ALTERED_UTF8_RE, on bytes (as a latin-1 string): UTF-8 sequences whose 0xA0 became a space.
const ALTERED_UTF8_RE =
  /[\xc2\xc3\xc5\xce\xd0] |[\xe0-\xef] [\x80-\xbf]|[\xe0-\xef][\x80-\xbf] |\xf0 [\x80-\xbf][\x80-\xbf]|\xf0[\x80-\xbf] [\x80-\xbf]|\xf0[\x80-\xbf][\x80-\xbf] /g;
// ftfy's A_GRAVE_WORD_RE: "Ã " that stands for the French/Portuguese word "à" (not "às", "àquele", ...).
const A_GRAVE_WORD_RE = /\xc3 (?! |quele|quela|quilo|s )/g;
// ftfy's LOSSY_UTF8_RE: UTF-8 sequences where a byte was lost (0x1A stands for a byte that became U+FFFD).
const LOSSY_UTF8_RE =
  /[\xc2-\xdf]\x1a|[\xc2-\xc3]\?|\xed[\xa0-\xaf][\x1a?]\xed[\xb0-\xbf][\x1a?\x80-\xbf]|\xed[\xa0-\xaf][\x1a?\x80-\xbf]\xed[\xb0-\xbf][\x1a?]|[\xe0-\xef][\x1a?][\x1a\x80-\xbf]|[\xe0-\xef][\x1a\x80-\xbf][\x1a?]|[\xf0-\xf4][\x1a?][\x1a\x80-\xbf][\x1a\x80-\xbf]|[\xf0-\xf4][\x1a\x80-\xbf][\x1a?][\x1a\x80-\xbf]|[\xf0-\xf4][\x1a\x80-\xbf][\x1a\x80-\xbf][\x1a?]|\x1a/g;

const latin1 = (b: Uint8Array): string => Buffer.from(b).toString('latin1');
const fromLatin1 = (s: string): Uint8Array => new Uint8Array(Buffer.from(s, 'latin1'));
const strictUtf8 = new TextDecoder('utf-8', { fatal: true });

/** ftfy's `utf-8-variants` codec: UTF-8 plus CESU-8 surrogate pairs and Java's C0 80 for U+0000. Throws. */
function decodeUtf8Variants(b: Uint8Array): string {
  const s = latin1(b).replace(
    /\xed([\xa0-\xaf])([\x80-\xbf])\xed([\xb0-\xbf])([\x80-\xbf])|\xc0\x80/g,
    (m, a?: string, b1?: string, c?: string, d?: string) => {
      if (m === '\xc0\x80') return '\x00';
      const hi = 0xd000 | ((a!.charCodeAt(0) & 0x3f) << 6) | (b1!.charCodeAt(0) & 0x3f);
      const lo = 0xd000 | ((c!.charCodeAt(0) & 0x3f) << 6) | (d!.charCodeAt(0) & 0x3f);
      return latin1(new TextEncoder().encode(String.fromCharCode(hi, lo)));
    },
  );
  return strictUtf8.decode(fromLatin1(s));
}

// ftfy's UTF8_DETECTOR_RE: runs of characters that look like UTF-8 sequences read in a single-byte page.
const CONT = `[\\x80-\\xbf${cls(UTF8_CLUES.continuation)}]`;
const UTF8_DETECTOR_RE = new RegExp(
  `(?:[${cls(UTF8_CLUES.first_of_2)}]${CONT}|[${cls(UTF8_CLUES.first_of_3)}]${CONT}{2}|[${cls(UTF8_CLUES.first_of_4)}]${CONT}{3})+`,
  'gu',
);

/** ftfy `decode_inconsistent_utf8`: fix each embedded run that looks bad on its own. */
function decodeInconsistentUtf8(text: string): string {
  return text.replace(UTF8_DETECTOR_RE, (m) => (m.length < text.length && isBad(m) ? fixEncoding(m) : m));
}

/** One step of ftfy's `fix_encoding`: the text after undoing one layer of mojibake (or unchanged). */
function fixEncodingOneStep(text: string): string {
  if (text.length === 0 || /^[\x00-\x7f]*$/.test(text) || !isBad(text)) return text;
  for (const enc of CHARMAP_ENCODINGS) {
    if (!CODECS.get(enc)!.possible.test(text)) continue;
    let bytes = latin1(encodeWith(text, enc));
    if (new RegExp(ALTERED_UTF8_RE.source).test(bytes)) {
      // ftfy `restore_byte_a0`: a lone "Ã " is the word "à" (keep the space), then restore the other A0s.
      bytes = bytes.replace(A_GRAVE_WORD_RE, '\xc3\xa0 ').replace(ALTERED_UTF8_RE, (m) => m.replace(' ', '\xa0'));
    }
    if (enc.startsWith('sloppy')) bytes = bytes.replace(LOSSY_UTF8_RE, '\xef\xbf\xbd');
    try {
      const raw = fromLatin1(bytes);
      return bytes.includes('\xed') || bytes.includes('\xc0') ? decodeUtf8Variants(raw) : strictUtf8.decode(raw);
    } catch {
      // Not UTF-8 under this code page: try the next one.
    }
  }
  UTF8_DETECTOR_RE.lastIndex = 0;
  if (UTF8_DETECTOR_RE.test(text)) {
    const fixed = decodeInconsistentUtf8(text);
    if (fixed !== text) return fixed;
  }
  // Latin-1 read where Windows-1252 was meant, or single C1 characters: decode those as Windows-1252. (ftfy's
  // strict latin-1 -> windows-1252 attempt and its C1 fallback come to exactly this.)
  if (/[\x80-\x9f]/.test(text)) return fixC1Controls(text);
  return text;
}

/** ftfy `fix_encoding`: undo mojibake layers until nothing changes. */
export function fixEncoding(text: string): string {
  for (;;) {
    const next = fixEncodingOneStep(text);
    if (next === text) return text;
    text = next;
  }
}

const SLOPPY_1252 = HIGH_HALF['sloppy-windows-1252'];
function fixC1Controls(text: string): string {
  return text.replace(/[\x80-\x9f]/g, (c) => SLOPPY_1252[c.charCodeAt(0) - 0x80]!);
}

const LIGATURES: Record<string, string> = {
  Ĳ: 'IJ', ĳ: 'ij', ŉ: 'ʼn', Ǳ: 'DZ', ǲ: 'Dz', ǳ: 'dz', Ǆ: 'DŽ', ǅ: 'Dž', ǆ: 'dž', Ǉ: 'LJ', ǈ: 'Lj', ǉ: 'lj',
  Ǌ: 'NJ', ǋ: 'Nj', ǌ: 'nj', ﬀ: 'ff', ﬁ: 'fi', ﬂ: 'fl', ﬃ: 'ffi', ﬄ: 'ffl', ﬅ: 'ſt', ﬆ: 'st',
};
const LIGATURE_RE = new RegExp(`[${cls(Object.keys(LIGATURES).join(''))}]`, 'gu');

/** ftfy's WIDTH_MAP: U+3000 and the halfwidth/fullwidth block (U+FF01..U+FFEF) to their NFKC forms. */
function fixCharacterWidth(text: string): string {
  return text.replace(/[\u3000\uff01-\uffef]/g, (c) => (c === '\u3000' ? ' ' : c.normalize('NFKC')));
}

const LONE_SURROGATE_RE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;
const HAS_LONE_SURROGATE = new RegExp(LONE_SURROGATE_RE.source);
const ANSI_RE = /\x1b\[((?:\p{Nd}|;)*)([a-zA-Z])/gu;
const CONTROL_RE = /[\x00-\x08\x0b\x0e-\x1f\x7f\u206a-\u206f\ufeff\ufff9-\ufffc]/g;

/** One pass of ftfy's `fix_and_explain` fixers, in its order. */
function fixOnce(text: string, unescapeHtml: boolean): string {
  if (unescapeHtml) text = ftfyUnescapeHtml(text);
  text = fixEncoding(text);
  text = fixC1Controls(text);
  text = text.replace(LIGATURE_RE, (c) => LIGATURES[c]!);
  text = fixCharacterWidth(text);
  text = text.replace(/[\u02bc\u2018-\u201b]/g, "'").replace(/[\u201c-\u201f]/g, '"');
  text = text.replace(/\r\n/g, '\n').replace(/[\r\u2028\u2029\u0085]/g, '\n');
  text = text.replace(LONE_SURROGATE_RE, '\ufffd');
  text = text.replace(ANSI_RE, '');
  text = text.replace(CONTROL_RE, '');
  return text.normalize('NFC');
}

// Text that every fixer leaves alone: printable ASCII, tab and newline, no entity, no escape.
const UNTOUCHED_RE = /^[\x20-\x25\x27-\x7e\t\n]*$/;

// Characters some fixer changes (entities, C1 and other controls, ligatures, wide forms, curly quotes, line
// breaks, escapes). Text without them that is NFC and not `isBad` comes out of `fix_text` unchanged.
const TOUCHED_RE = new RegExp(
  `[&\\x00-\\x08\\x0b\\x0d-\\x1f\\x7f-\\x9f\\u02bc\\u2018-\\u201f\\u2028\\u2029\\u206a-\\u206f\\u3000\\ufeff\\uff01-\\uffef\\ufff9-\\ufffc${cls(Object.keys(LIGATURES).join(''))}]`,
  'u',
);

/** ftfy's `max_decode_length`: longer lines are fixed in pieces of this size. */
const MAX_DECODE_LENGTH = 1_000_000;

/** ftfy 6.1.1 `fix_text(text)`: line by line; HTML entities are decoded only until a line contains '<'. */
export function fixText(text: string): string {
  if (UNTOUCHED_RE.test(text)) return text;
  if (!TOUCHED_RE.test(text) && !HAS_LONE_SURROGATE.test(text) && !isBad(text) && text.normalize('NFC') === text) {
    return text;
  }
  return fixTextFull(text);
}

/** `fixText` without the shortcuts for text no fixer touches (tests check that the two agree). */
export function fixTextFull(text: string): string {
  let unescapeHtml = true;
  let out = '';
  let pos = 0;
  while (pos < text.length) {
    const nl = text.indexOf('\n', pos);
    const end = Math.min(nl < 0 ? text.length : nl + 1, pos + MAX_DECODE_LENGTH);
    let segment = text.slice(pos, end);
    if (unescapeHtml && segment.includes('<')) unescapeHtml = false;
    for (;;) {
      const fixed = fixOnce(segment, unescapeHtml);
      if (fixed === segment) break;
      segment = fixed;
    }
    out += segment;
    pos = end;
  }
  return out;
}
