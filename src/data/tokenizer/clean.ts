// OpenCLIP v2.20.0's text cleaning before BPE: `whitespace_clean(basic_clean(text)).lower()`, i.e. ftfy's
// `fix_text`, Python's `html.unescape` twice, strip, collapse whitespace runs to one space, lower-case.
import { fixText } from './ftfy.js';
import { htmlUnescape } from './html-unescape.js';

// Python `str.strip()` strips `str.isspace()` characters; the `regex` module's `\s` is Unicode White_Space
// (the same set without U+001C..U+001F, which ftfy has removed by then anyway).
function isPySpace(c: number): boolean {
  if (c <= 0x20) return c === 0x20 || (c >= 0x09 && c <= 0x0d) || c >= 0x1c;
  if (c < 0x85) return false;
  return c === 0x85 || c === 0xa0 || c === 0x1680 || (c >= 0x2000 && c <= 0x200a) || c === 0x2028 || c === 0x2029 ||
    c === 0x202f || c === 0x205f || c === 0x3000;
}

/** Python `str.strip()` with no argument. */
function pyStrip(text: string): string {
  let a = 0;
  let b = text.length;
  while (a < b && isPySpace(text.charCodeAt(a))) a++;
  while (b > a && isPySpace(text.charCodeAt(b - 1))) b--;
  return a === 0 && b === text.length ? text : text.slice(a, b);
}

const WS_RUN_RE = /\p{White_Space}+/gu;

// Printable ASCII without '&', plus tab and newline: ftfy and html.unescape are the identity on it.
const PLAIN_RE = /^[\x20-\x25\x27-\x7e\t\n]*$/;

/** OpenCLIP `basic_clean`: ftfy, HTML unescape twice, strip. */
export function basicClean(text: string): string {
  if (!PLAIN_RE.test(text)) text = htmlUnescape(htmlUnescape(fixText(text)));
  return pyStrip(text);
}

/** OpenCLIP `whitespace_clean`: collapse whitespace runs to one space, strip. */
export function whitespaceClean(text: string): string {
  return pyStrip(text.replace(WS_RUN_RE, ' '));
}

/** The exact string OpenCLIP's BPE regex sees for `text`. */
export function cleanText(text: string): string {
  return whitespaceClean(basicClean(text)).toLowerCase();
}
