// The tokenizer against OpenCLIP v2.20.0's golden cases (test/fixtures/golden/tokenizer), plus the pieces on their own.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { cleanText, EOT_TOKEN, getTokenizer, SOT_TOKEN } from './index.js';
import { htmlUnescape } from './html-unescape.js';
import { bytesToUnicode } from './bpe.js';
import { assetPath } from '../../util/assets.js';
import { fixText, fixTextFull, isBad } from './ftfy.js';
import { golden } from '../../../test/support/golden.js';

interface GoldenCase {
  text: string;
  ids: number[];
  bpe_ids: number[];
  clean: string;
  category: string;
  decoded: string;
  truncated: boolean;
}

const casesPath = golden('tokenizer', 'cases.json');
const cases = JSON.parse(readFileSync(casesPath, 'utf8')) as GoldenCase[];

describe('golden cases (OpenCLIP v2.20.0 SimpleTokenizer, ftfy 6.1.1)', () => {
  const tok = getTokenizer();
  it('has all 300 cases', () => expect(cases.length).toBe(300));
  it('cleans every case to the string the BPE regex saw', () => {
    const bad = cases.filter((c) => cleanText(c.text) !== c.clean).map((c) => c.text);
    expect(bad).toEqual([]);
  });
  it('encodes every case to the untruncated BPE ids', () => {
    const bad = cases.filter((c) => JSON.stringify(tok.encode(c.text)) !== JSON.stringify(c.bpe_ids));
    expect(bad.map((c) => c.text)).toEqual([]);
  });
  it('tokenizes all cases in one batch to the golden [300, 77] ids', () => {
    const out = tok.tokenize(cases.map((c) => c.text));
    expect(out.length).toBe(300 * 77);
    cases.forEach((c, i) => expect(Array.from(out.subarray(i * 77, (i + 1) * 77), Number), c.text).toEqual(c.ids));
  });
  it('decodes the golden BPE ids back to the golden text', () => {
    for (const c of cases) expect(tok.decode(c.bpe_ids)).toBe(c.decoded);
  });
  it('covers truncation (16 truncated cases)', () => {
    expect(cases.filter((c) => c.truncated).length).toBe(16);
  });
});

describe('fuzz cases (Python reference: OpenCLIP tokenizer code over ftfy with 6.1 tables, see test/fixtures/tokenizer/)', () => {
  const fuzz = JSON.parse(readFileSync(new URL('../../../test/fixtures/tokenizer/fuzz-cases.json', import.meta.url), 'utf8')) as Array<[string, number[]]>;
  it('encodes all 400 random awkward strings to the reference ids', () => {
    const tok = getTokenizer();
    const bad = fuzz.filter(([t, ids]) => JSON.stringify(tok.encode(t)) !== JSON.stringify(ids)).map(([t]) => t);
    expect(fuzz.length).toBe(400);
    expect(bad).toEqual([]);
  });
});

describe('vocabulary', () => {
  it('ships the OpenAI/OpenCLIP merges file byte for byte (sha256 from the golden README)', () => {
    const sha = createHash('sha256').update(readFileSync(assetPath('bpe_simple_vocab_16e6.txt.gz'))).digest('hex');
    expect(sha).toBe('924691ac288e54409236115652ad4aa250f48203de50a9e4722a6ecd48d6804a');
  });
  it('maps bytes to 256 distinct printable stand-ins (GPT-2 byte encoder)', () => {
    const pairs = bytesToUnicode();
    expect(new Set(pairs.map(([, c]) => c)).size).toBe(256);
    const m = new Map(pairs);
    expect(m.get(0x21)).toBe('!');
    expect(m.get(0x20)).toBe('\u0120');
    expect(m.get(0x00)).toBe('\u0100');
  });
  it('decodes the special ids', () => {
    expect(getTokenizer().decode([SOT_TOKEN, EOT_TOKEN])).toBe('<start_of_text><end_of_text>');
  });
});

describe('tokenize', () => {
  const tok = getTokenizer();
  it('wraps in SOT/EOT and zero-pads to the context length', () => {
    const ids = tok.encode('a photo of a cat');
    const out = Array.from(tok.tokenize(['a photo of a cat'], 10), Number);
    expect(out).toEqual([SOT_TOKEN, ...ids, EOT_TOKEN, ...new Array(10 - ids.length - 2).fill(0)]);
  });
  it('truncates keeping EOT last: tokens[:n], tokens[-1] = EOT', () => {
    const ids = tok.encode('one two three four five six seven');
    expect(ids.length).toBe(7);
    const out = Array.from(tok.tokenize(['one two three four five six seven'], 6), Number);
    expect(out).toEqual([SOT_TOKEN, ...ids.slice(0, 4), EOT_TOKEN]);
    const exact = Array.from(tok.tokenize(['one two three four five six seven'], 9), Number);
    expect(exact).toEqual([SOT_TOKEN, ...ids, EOT_TOKEN]);
  });
  it('lays rows out row-major and handles an empty batch', () => {
    const out = tok.tokenize(['cat', 'dog'], 4);
    expect(out[0]).toBe(BigInt(SOT_TOKEN));
    expect(out[4]).toBe(BigInt(SOT_TOKEN));
    expect(out[1]).not.toBe(out[5]);
    expect(tok.tokenize([], 77).length).toBe(0);
  });
  it('rejects a context length below 2', () => {
    expect(() => tok.tokenize(['x'], 1)).toThrow(/contextLength/);
    expect(() => tok.tokenize(['x'], 3.5)).toThrow(/contextLength/);
  });
  it('is deterministic across the word cache', () => {
    const a = tok.encode('the quick brown fox');
    expect(tok.encode('the quick brown fox')).toEqual(a);
  });
});

describe('html.unescape (Python 3.11 semantics)', () => {
  it('decodes named, numeric and legacy unterminated references', () => {
    expect(htmlUnescape('&amp;&lt;&gt;&quot;&#39;')).toBe('&<>"\'');
    expect(htmlUnescape('&amp')).toBe('&');
    expect(htmlUnescape('&notit;')).toBe('¬it;');
    expect(htmlUnescape('&#x80;&#128;')).toBe('€€');
    expect(htmlUnescape('&#0;')).toBe('\ufffd');
    expect(htmlUnescape('&#1;x&#xD800;')).toBe('x\ufffd');
    expect(htmlUnescape('&#1114112;')).toBe('\ufffd');
    expect(htmlUnescape('&unknown;')).toBe('&unknown;');
  });
});

describe('ftfy fix_text (6.1.1 behaviour)', () => {
  it('repairs UTF-8 read as Windows-1252 / Latin-1, repeatedly', () => {
    expect(fixText('cafÃ©')).toBe('café');
    expect(fixText('doesnÃ¢â‚¬â„¢t')).toBe("doesn't");
  });
  it('restores a lone "Ã " as the word "à" and decodes C1 bytes inside fix_encoding (reference outputs)', () => {
    expect(fixText('Ã\u00a0 la carte')).toBe('à la carte');
    expect(fixText('dog ÃƒÆ’ ')).toBe('dog à ');
    expect(fixText('Ð¿Ñ€Ð¸\x80“😀')).toBe('пр舓😀');
  });
  it('repairs a mojibake fragment inside text no single code page can hold', () => {
    expect(fixText('Ренато doesnâ€™t')).toBe("Ренато doesn't");
  });
  it('leaves plausible text alone', () => {
    for (const s of ['café', 'naïve résumé', 'Ελληνικά', 'Привет', '日本語', '© 2023 × 3']) {
      expect(isBad(s), s).toBe(false);
      expect(fixText(s)).toBe(s);
    }
  });
  it('applies the character fixes and NFC', () => {
    expect(fixText('ﬁne “quote” ＡＢ')).toBe('fine "quote" AB');
    expect(fixText('e\u0301')).toBe('é');
    expect(fixText('a\r\nb\u2028c')).toBe('a\nb\nc');
    expect(fixText('\x1b[1mbold\x1b[0m\x00')).toBe('bold');
  });
  it('matches the examples in ftfy\'s documentation', () => {
    expect(fixText('Broken text&hellip; it&#x2019;s ﬂubberiﬁc!')).toBe("Broken text… it's flubberific!");
    expect(fixText('ＬＯＵＤ　ＮＯＩＳＥＳ')).toBe('LOUD NOISES');
    expect(fixText('Ｕﾀｰﾝ')).toBe('Uターン');
    expect(fixText('P&EACUTE;REZ')).toBe('PÉREZ');
    expect(fixText('&ntilde; &Ntilde; &NTILDE; &nTILDE;')).toBe('ñ Ñ Ñ &nTILDE;');
    expect(fixText('&Jscr;ohn &HilbertSpace;ancock')).toBe('𝒥ohn ℋancock');
    expect(fixText('\x1b[36;44mI\'m blue, da ba dee da ba doo...\x1b[0m')).toBe("I'm blue, da ba dee da ba doo...");
  });
  it('takes shortcuts only where the full pipeline would change nothing', () => {
    const extra = ['naïve café', 'Ελληνικά ﬁ', 'e\u0301', '😀 \ud83d', 'a\u2028b', 'Ã© ok', '日本語\u3000テキスト', '\u0085x'];
    for (const t of [...cases.map((c) => c.text), ...extra]) expect(fixText(t), t).toBe(fixTextFull(t));
  });
  it('decodes entities only while no line so far contains "<"', () => {
    expect(fixText('&amp;amp;')).toBe('&');
    expect(fixText('<b>&amp;</b>')).toBe('<b>&amp;</b>');
    expect(fixText('x &amp;\n<b> &amp;')).toBe('x &\n<b> &amp;');
  });
});
