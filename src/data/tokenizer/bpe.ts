// CLIP's byte-level BPE (OpenAI CLIP / OpenCLIP `SimpleTokenizer`): the byte-to-unicode table, the vocabulary
// built from the merges file, and the merge loop with a per-word cache. Input is one pre-tokenized word.

/** GPT-2/CLIP `bytes_to_unicode`, as [byte, char] pairs in the vocabulary's order: printable Latin-1 bytes map
 * to themselves, the others to U+0100 and up. */
export function bytesToUnicode(): Array<[number, string]> {
  const bs: number[] = [];
  for (let b = 0x21; b <= 0x7e; b++) bs.push(b);
  for (let b = 0xa1; b <= 0xac; b++) bs.push(b);
  for (let b = 0xae; b <= 0xff; b++) bs.push(b);
  const pairs: Array<[number, string]> = bs.map((b) => [b, String.fromCharCode(b)]);
  let n = 0;
  for (let b = 0; b < 256; b++) {
    if (!bs.includes(b)) pairs.push([b, String.fromCharCode(256 + n++)]);
  }
  return pairs;
}

export const SOT = '<start_of_text>';
export const EOT = '<end_of_text>';

/** Number of merges OpenCLIP keeps: `49152 - 256 - 2`. */
export const NUM_MERGES = 49152 - 256 - 2;

const MAX_CACHE = 1 << 20;

export class BytePairEncoder {
  /** byte value -> its unicode stand-in */
  readonly byteEncoder: string[] = new Array<string>(256);
  readonly encoder = new Map<string, number>();
  readonly decoder: string[] = [];
  private readonly ranks = new Map<string, number>();
  private readonly cache = new Map<string, number[]>();

  /** `mergesText`: the decompressed `bpe_simple_vocab_16e6.txt` (header line, then one merge per line). */
  constructor(mergesText: string) {
    const pairs = bytesToUnicode();
    for (const [b, c] of pairs) this.byteEncoder[b] = c;
    const order = pairs.map(([, c]) => c);

    const lines = mergesText.split('\n').slice(1, NUM_MERGES + 1);
    if (lines.length !== NUM_MERGES) throw new Error(`BPE merges file has ${lines.length} merges, need ${NUM_MERGES}`);
    const vocab = [...order, ...order.map((c) => c + '</w>')];
    lines.forEach((line, i) => {
      const [a, b] = line.split(' ');
      this.ranks.set(a + ' ' + b, i);
      vocab.push(a! + b!);
    });
    vocab.push(SOT, EOT);
    vocab.forEach((tok, i) => this.encoder.set(tok, i));
    this.decoder.push(...vocab);
    this.cache.set(SOT, [this.encoder.get(SOT)!]);
    this.cache.set(EOT, [this.encoder.get(EOT)!]);
  }

  /** Ids of one pre-tokenized word `word` (lower-cased text, not yet byte-encoded). Cached. */
  encodeWord(word: string): number[] {
    const hit = this.cache.get(word);
    if (hit) return hit;
    const ids = this.bpe(this.toByteChars(word)).map((sym) => this.encoder.get(sym)!);
    if (this.cache.size >= MAX_CACHE) this.cache.clear();
    this.cache.set(word, ids);
    return ids;
  }

  private toByteChars(word: string): string[] {
    const out: string[] = [];
    for (let i = 0; i < word.length; i++) {
      const c = word.charCodeAt(i);
      if (c < 0x80) {
        out.push(this.byteEncoder[c]!);
      } else {
        for (const b of Buffer.from(word.slice(i, i + 1 + (c >= 0xd800 && c < 0xdc00 ? 1 : 0)), 'utf8')) {
          out.push(this.byteEncoder[b]!);
        }
        if (c >= 0xd800 && c < 0xdc00) i++;
      }
    }
    return out;
  }

  /** The merge loop of `SimpleTokenizer.bpe`: repeatedly merge the lowest-ranked adjacent pair. */
  private bpe(chars: string[]): string[] {
    const word = chars;
    word[word.length - 1] += '</w>';
    if (word.length === 1) return word;
    let syms = word;
    for (;;) {
      let best = Infinity;
      let first = '';
      let second = '';
      for (let i = 0; i + 1 < syms.length; i++) {
        const r = this.ranks.get(syms[i] + ' ' + syms[i + 1]);
        if (r !== undefined && r < best) {
          best = r;
          first = syms[i]!;
          second = syms[i + 1]!;
        }
      }
      if (best === Infinity) break;
      const next: string[] = [];
      for (let i = 0; i < syms.length; ) {
        if (i + 1 < syms.length && syms[i] === first && syms[i + 1] === second) {
          next.push(first + second);
          i += 2;
        } else {
          next.push(syms[i]!);
          i++;
        }
      }
      syms = next;
      if (syms.length === 1) break;
    }
    return syms;
  }
}
