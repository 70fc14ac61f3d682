// The CLIP tokenizer, bit-exact with OpenCLIP v2.20.0 `tokenize` / `SimpleTokenizer`: cleaning, the pre-tokenizer
// regex, byte-level BPE, start/end tokens, truncation that keeps the end token, zero padding.
import { readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { assetPath } from '../../util/assets.js';
import { InputError } from '../../util/errors.js';
import { BytePairEncoder, EOT, SOT } from './bpe.js';
import { cleanText } from './clean.js';

export { cleanText } from './clean.js';

export const SOT_TOKEN = 49406;
export const EOT_TOKEN = 49407;
export const DEFAULT_CONTEXT_LENGTH = 77;

export interface ClipTokenizer {
  /** BPE ids of `text` after cleaning, without start/end tokens and untruncated. */
  encode(text: string): number[];
  /** Row-major [texts.length, contextLength]: SOT, ids, EOT, zeros; over-long rows are cut and end in EOT. */
  tokenize(texts: string[], contextLength?: number): BigInt64Array;
  /** Text of `ids` (`</w>` becomes a space), as `SimpleTokenizer.decode`. */
  decode(ids: number[]): string;
}

// OpenCLIP's pattern with `\s` as Unicode White_Space (as in the `regex` module), case-insensitive.
const PRE_TOKEN_RE =
  /<start_of_text>|<end_of_text>|'s|'t|'re|'ve|'m|'ll|'d|\p{L}+|\p{N}|[^\p{White_Space}\p{L}\p{N}]+/giu;

class SimpleTokenizer implements ClipTokenizer {
  private readonly utf8 = new TextDecoder('utf-8');
  private readonly byteDecoder: Map<string, number>;
  constructor(private readonly bpe: BytePairEncoder) {
    this.byteDecoder = new Map(bpe.byteEncoder.map((c, b) => [c, b]));
  }

  encode(text: string): number[] {
    const out: number[] = [];
    const clean = cleanText(text);
    PRE_TOKEN_RE.lastIndex = 0;
    for (let m = PRE_TOKEN_RE.exec(clean); m !== null; m = PRE_TOKEN_RE.exec(clean)) {
      const ids = this.bpe.encodeWord(m[0]);
      for (let i = 0; i < ids.length; i++) out.push(ids[i]!);
    }
    return out;
  }

  tokenize(texts: string[], contextLength = DEFAULT_CONTEXT_LENGTH): BigInt64Array {
    if (!Number.isInteger(contextLength) || contextLength < 2) {
      throw new InputError('contextLength', `must be an integer >= 2, got ${contextLength}`);
    }
    const out = new BigInt64Array(texts.length * contextLength);
    // Ids are small and non-negative: write the low 32-bit word of each little-endian int64 (much faster than BigInt).
    const words = new Int32Array(out.buffer);
    texts.forEach((text, row) => {
      const ids = this.encode(text);
      const base = 2 * row * contextLength;
      words[base] = SOT_TOKEN;
      // [SOT] + ids + [EOT], cut to contextLength with the last slot forced to EOT (OpenCLIP v2.20.0).
      const n = Math.min(ids.length, contextLength - 2);
      for (let i = 0; i < n; i++) words[base + 2 * (1 + i)] = ids[i]!;
      words[base + 2 * (n + 1)] = EOT_TOKEN;
    });
    return out;
  }

  decode(ids: number[]): string {
    const text = ids.map((id) => this.bpe.decoder[id] ?? '').join('');
    const bytes: number[] = [];
    for (const ch of text.replace(/<\/w>/g, ' ')) {
      const b = this.byteDecoder.get(ch);
      if (b !== undefined) bytes.push(b);
      else for (const x of Buffer.from(ch, 'utf8')) bytes.push(x);
    }
    return this.utf8.decode(new Uint8Array(bytes));
  }
}

let shared: ClipTokenizer | undefined;

/** The tokenizer over the shipped vocabulary (`assets/bpe_simple_vocab_16e6.txt.gz`), loaded once. */
export function getTokenizer(): ClipTokenizer {
  if (!shared) {
    const merges = gunzipSync(readFileSync(assetPath('bpe_simple_vocab_16e6.txt.gz'))).toString('utf8');
    shared = new SimpleTokenizer(new BytePairEncoder(merges));
  }
  return shared;
}

export { SOT, EOT };
