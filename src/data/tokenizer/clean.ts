// OpenCLIP v2.20.0's text cleaning before BPE: `whitespace_clean(basic_clean(text)).lower()`, i.e. ftfy's
// `fix_text`, Python's `html.unescape` twice, strip, collapse whitespace runs to one space, lower-case.
import { fixText } from './ftfy.js';
import { htmlUnescape } from './html-unescape.js';

// Python `str.strip()` strips `str.isspace()` characters; the `regex` module's `\s` is Unicode White_Space
// (the same set without U+001C..U+001F, which ftfy has removed by then anyway).
const PY_STRIP_RE = /^[\t-\r\x1c-\x20\x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]+|[\t-\r\x1c-\x20\x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]+$/g;
const WS_RUN_RE = /\p{White_Space}+/gu;

// Printable ASCII without '&', plus tab and newline: ftfy and html.unescape are the identity on it.
const PLAIN_RE = /^[\x20-\x25\x27-\x7e\t\n]*$/;

/** OpenCLIP `basic_clean`: ftfy, HTML unescape twice, strip. */
export function basicClean(text: string): string {
  if (!PLAIN_RE.test(text)) text = htmlUnescape(htmlUnescape(fixText(text)));
  return text.replace(PY_STRIP_RE, '');
}

/** OpenCLIP `whitespace_clean`: collapse whitespace runs to one space, strip. */
export function whitespaceClean(text: string): string {
  return text.replace(WS_RUN_RE, ' ').replace(PY_STRIP_RE, '');
}

/** The exact string OpenCLIP's BPE regex sees for `text`. */
export function cleanText(text: string): string {
  return whitespaceClean(basicClean(text)).toLowerCase();
}
