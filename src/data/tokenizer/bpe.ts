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
/** Vocabulary ids: 256 byte symbols, their 256 `</w>` forms, then one id per merge in rank order. */
const FIRST_MERGE_ID = 512;

export class BytePairEncoder {
  /** byte value -> its unicode stand-in */
  readonly byteEncoder: string[] = new Array<string>(256);
  readonly encoder = new Map<string, number>();
  readonly decoder: string[] = [];
  /** byte value -> vocabulary id of its symbol */
  private readonly byteId = new Int32Array(256);
  /** (left id * 65536 + right id) -> merge rank; merging rank r yields id FIRST_MERGE_ID + r. */
  private readonly pairRank = new Map<number, number>();
  private readonly cache = new Map<string, number[]>();

  /** `mergesText`: the decompressed `bpe_simple_vocab_16e6.txt` (header line, then one merge per line). */
  constructor(mergesText: string) {
    const pairs = bytesToUnicode();
    const order = pairs.map(([, c]) => c);
    pairs.forEach(([b, c], i) => {
      this.byteEncoder[b] = c;
      this.byteId[b] = i;
    });
    const lines = mergesText.split('\n').slice(1, NUM_MERGES + 1);
    if (lines.length !== NUM_MERGES) throw new Error(`BPE merges file has ${lines.length} merges, need ${NUM_MERGES}`);
    const vocab = [...order, ...order.map((c) => c + '</w>')];
    for (const line of lines) {
      const [a, b] = line.split(' ');
      vocab.push(a! + b!);
    }
    vocab.push(SOT, EOT);
    vocab.forEach((tok, i) => this.encoder.set(tok, i));
    if (this.encoder.size !== vocab.length) throw new Error('BPE vocabulary has duplicate entries');
    lines.forEach((line, i) => {
      const [a, b] = line.split(' ');
      const left = this.encoder.get(a!);
      const right = this.encoder.get(b!);
      if (left === undefined || right === undefined) throw new Error(`BPE merge ${i + 1} uses an unknown symbol: ${line}`);
      this.pairRank.set(left * 65536 + right, i);
    });
    this.decoder.push(...vocab);
    this.cache.set(SOT, [this.encoder.get(SOT)!]);
    this.cache.set(EOT, [this.encoder.get(EOT)!]);
  }

  /** Ids of one pre-tokenized word `word` (lower-cased text, not yet byte-encoded). Cached. */
  encodeWord(word: string): number[] {
    const hit = this.cache.get(word);
    if (hit) return hit;
    const ids = this.bpe(this.byteIds(word));
    if (this.cache.size >= MAX_CACHE) this.cache.clear();
    this.cache.set(word, ids);
    return ids;
  }

  /** The UTF-8 bytes of `word` as symbol ids, the last one in its `</w>` form. */
  private byteIds(word: string): number[] {
    const out: number[] = [];
    for (let i = 0; i < word.length; i++) {
      const c = word.charCodeAt(i);
      if (c < 0x80) out.push(this.byteId[c]!);
      else {
        const astral = c >= 0xd800 && c < 0xdc00 && i + 1 < word.length;
        for (const b of Buffer.from(word.slice(i, i + (astral ? 2 : 1)), 'utf8')) out.push(this.byteId[b]!);
        if (astral) i++;
      }
    }
    out[out.length - 1]! += 256;
    return out;
  }

  /** The merge loop of `SimpleTokenizer.bpe`: repeatedly merge every occurrence of the lowest-ranked pair. */
  private bpe(syms: number[]): number[] {
    while (syms.length > 1) {
      let best = Infinity;
      let first = -1;
      let second = -1;
      for (let i = 0; i + 1 < syms.length; i++) {
        const r = this.pairRank.get(syms[i]! * 65536 + syms[i + 1]!);
        if (r !== undefined && r < best) {
          best = r;
          first = syms[i]!;
          second = syms[i + 1]!;
        }
      }
      if (best === Infinity) break;
      const merged = FIRST_MERGE_ID + best;
      const next: number[] = [];
      for (let i = 0; i < syms.length; ) {
        if (syms[i] === first && i + 1 < syms.length && syms[i + 1] === second) {
          next.push(merged);
          i += 2;
        } else {
          next.push(syms[i]!);
          i++;
        }
      }
      syms = next;
    }
    return syms;
  }
}
