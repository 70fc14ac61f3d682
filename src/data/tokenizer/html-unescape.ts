// HTML character references, decoded exactly as Python's `html.unescape` (3.11) and ftfy 6.1.1's stricter
// `unescape_html` do. The HTML5 entity table (`assets/html5-entities.json`) is Python's `html.entities.html5`.
import { readFileSync } from 'node:fs';
import { assetPath } from '../../util/assets.js';

let html5: Map<string, string> | undefined;

/** Python's `html.entities.html5`: names with and without the trailing ';' (e.g. `amp`, `amp;`). */
function html5Entities(): Map<string, string> {
  if (!html5) {
    const raw = JSON.parse(readFileSync(assetPath('html5-entities.json'), 'utf8')) as Record<string, string>;
    html5 = new Map(Object.entries(raw));
  }
  return html5;
}

// Numeric references that HTML maps elsewhere (Python's `html._invalid_charrefs`): C1 bytes read as cp1252.
const INVALID_CHARREFS = new Map<number, string>([
  [0x00, '\ufffd'], [0x0d, '\r'], [0x80, '\u20ac'], [0x81, '\x81'], [0x82, '\u201a'], [0x83, '\u0192'],
  [0x84, '\u201e'], [0x85, '\u2026'], [0x86, '\u2020'], [0x87, '\u2021'], [0x88, '\u02c6'], [0x89, '\u2030'],
  [0x8a, '\u0160'], [0x8b, '\u2039'], [0x8c, '\u0152'], [0x8d, '\x8d'], [0x8e, '\u017d'], [0x8f, '\x8f'],
  [0x90, '\x90'], [0x91, '\u2018'], [0x92, '\u2019'], [0x93, '\u201c'], [0x94, '\u201d'], [0x95, '\u2022'],
  [0x96, '\u2013'], [0x97, '\u2014'], [0x98, '\u02dc'], [0x99, '\u2122'], [0x9a, '\u0161'], [0x9b, '\u203a'],
  [0x9c, '\u0153'], [0x9d, '\x9d'], [0x9e, '\u017e'], [0x9f, '\u0178'],
]);

/** Python's `html._invalid_codepoints`: references to these decode to nothing. */
function isInvalidCodepoint(n: number): boolean {
  if ((n >= 0x1 && n <= 0x8) || n === 0xb || (n >= 0xe && n <= 0x1f) || (n >= 0x7f && n <= 0x9f)) return true;
  if (n >= 0xfdd0 && n <= 0xfdef) return true;
  return (n & 0xfffe) === 0xfffe && n <= 0x10ffff;
}

function numericRef(body: string): string {
  const hex = body[1] === 'x' || body[1] === 'X';
  const digits = body.slice(hex ? 2 : 1).replace(/;$/, '');
  const num = parseInt(digits, hex ? 16 : 10);
  const mapped = INVALID_CHARREFS.get(num);
  if (mapped !== undefined) return mapped;
  if ((num >= 0xd800 && num <= 0xdfff) || num > 0x10ffff) return '\ufffd';
  if (isInvalidCodepoint(num)) return '';
  return String.fromCodePoint(num);
}

const CHARREF_RE = /&(#[0-9]+;?|#[xX][0-9a-fA-F]+;?|[^\t\n\f <&#;]{1,32};?)/gu;

/** Python 3.11 `html.unescape`: numeric refs, named refs (longest known prefix when unterminated). */
export function htmlUnescape(s: string): string {
  if (!s.includes('&')) return s;
  const table = html5Entities();
  return s.replace(CHARREF_RE, (_m, body: string) => {
    if (body[0] === '#') return numericRef(body);
    const direct = table.get(body);
    if (direct !== undefined) return direct;
    // Longest matching prefix of at least two characters (code units, as Python slices code points;
    // entity names are ASCII so the two agree whenever a prefix can match).
    for (let x = body.length - 1; x > 1; x--) {
      const hit = table.get(body.slice(0, x));
      if (hit !== undefined) return hit + body.slice(x);
    }
    return '&' + body;
  });
}

let ftfyEntities: Map<string, string> | undefined;

/** ftfy's `HTML_ENTITIES`: `&name;` for every terminated HTML5 name, plus upper-cased all-lower names. */
function ftfyEntityTable(): Map<string, string> {
  if (ftfyEntities) return ftfyEntities;
  const out = new Map<string, string>();
  for (const [name, char] of html5Entities()) {
    if (!name.endsWith(';')) continue;
    out.set('&' + name, char);
    if (name === name.toLowerCase()) {
      const upper = '&' + name.toUpperCase();
      if (htmlUnescape(upper) === upper) out.set(upper, char.toUpperCase());
    }
  }
  ftfyEntities = out;
  return out;
}

const FTFY_ENTITY_RE = /&#?[0-9A-Za-z]{1,24};/g;

/** ftfy 6.1.1 `fixes.unescape_html`: only complete `&...;` references; unknown ones stay as they are. */
export function ftfyUnescapeHtml(text: string): string {
  if (!text.includes('&')) return text;
  const table = ftfyEntityTable();
  return text.replace(FTFY_ENTITY_RE, (m) => {
    const hit = table.get(m);
    if (hit !== undefined) return hit;
    if (m.startsWith('&#')) {
      const un = htmlUnescape(m);
      return un.includes(';') ? m : un;
    }
    return m;
  });
}
