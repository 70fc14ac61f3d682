// A searchable set of perceptual hashes: which stored hashes lie within Hamming distance d of a query.
// Multi-index hashing (Norouzi et al. 2012): the 64 bits are cut into four 16-bit bands; two hashes within
// d differ in some band by at most ⌊d/4⌋ bits, so a query probes, in each band, every value that close
// (1 + 16 + 120 + 560 values for ⌊d/4⌋ ≤ 3) instead of scanning. Larger d falls back to a scan.
// Memory: 28 bytes per stored hash.
import { hammingDistance, popcount32, type PHash } from './phash.js';

const BANDS = 4;
const BUCKETS = 1 << 16;

export interface HashMatch {
  /** Index of the stored hash (the order of `add`). */
  index: number;
  distance: number;
}

/** Every 16-bit value within `r` bits of `v`. */
function neighbours(v: number, r: number, out: number[]): number[] {
  out.length = 0;
  out.push(v);
  if (r >= 1) for (let a = 0; a < 16; a++) out.push(v ^ (1 << a));
  if (r >= 2) for (let a = 0; a < 16; a++) for (let b = a + 1; b < 16; b++) out.push(v ^ (1 << a) ^ (1 << b));
  if (r >= 3) for (let a = 0; a < 16; a++) for (let b = a + 1; b < 16; b++) for (let c = b + 1; c < 16; c++) out.push(v ^ (1 << a) ^ (1 << b) ^ (1 << c));
  return out;
}

function band(h: PHash, b: number): number {
  return b < 2 ? (h.hi >>> (16 * (1 - b))) & 0xffff : (h.lo >>> (16 * (3 - b))) & 0xffff;
}

export class PerceptualHashIndex {
  private words = new Uint32Array(2 * 1024);
  private next = new Int32Array(BANDS * 1024);
  private stamp = new Int32Array(1024);
  private readonly heads = Array.from({ length: BANDS }, () => new Int32Array(BUCKETS).fill(-1));
  private query = 0;
  private readonly probe: number[] = [];
  size = 0;

  /** Stores `h`; returns its index. */
  add(h: PHash): number {
    if (this.size === this.stamp.length) this.grow();
    const i = this.size++;
    this.words[2 * i] = h.hi;
    this.words[2 * i + 1] = h.lo;
    for (let b = 0; b < BANDS; b++) {
      const head = this.heads[b]!;
      const v = band(h, b);
      this.next[BANDS * i + b] = head[v]!;
      head[v] = i;
    }
    return i;
  }

  get(index: number): PHash {
    return { hi: this.words[2 * index]!, lo: this.words[2 * index + 1]! };
  }

  /** The stored hashes within `maxDistance` of `h`, nearest first (ties by index). */
  within(h: PHash, maxDistance: number): HashMatch[] {
    const out: HashMatch[] = [];
    this.visit(h, maxDistance, (index, distance) => {
      out.push({ index, distance });
      return false;
    });
    return out.sort((a, b) => a.distance - b.distance || a.index - b.index);
  }

  /** The nearest stored hash within `maxDistance` of `h` (lowest index among equals), or null. */
  nearest(h: PHash, maxDistance: number): HashMatch | null {
    let best: HashMatch | null = null;
    this.visit(h, maxDistance, (index, distance) => {
      if (!best || distance < best.distance || (distance === best.distance && index < best.index)) best = { index, distance };
      return false;
    });
    return best;
  }

  /** Calls `hit` once per stored hash within `d`; `hit` returns true to stop early. */
  private visit(h: PHash, d: number, hit: (index: number, distance: number) => boolean): void {
    const r = Math.floor(d / BANDS);
    if (r > 3) {
      for (let i = 0; i < this.size; i++) {
        const dist = popcount32((h.hi ^ this.words[2 * i]!) >>> 0) + popcount32((h.lo ^ this.words[2 * i + 1]!) >>> 0);
        if (dist <= d && hit(i, dist)) return;
      }
      return;
    }
    const q = ++this.query;
    for (let b = 0; b < BANDS; b++) {
      const head = this.heads[b]!;
      for (const v of neighbours(band(h, b), r, this.probe)) {
        for (let i = head[v]!; i >= 0; i = this.next[BANDS * i + b]!) {
          if (this.stamp[i] === q) continue;
          this.stamp[i] = q;
          const dist = hammingDistance(h, this.get(i));
          if (dist <= d && hit(i, dist)) return;
        }
      }
    }
  }

  private grow(): void {
    const cap = this.stamp.length * 2;
    const words = new Uint32Array(2 * cap);
    words.set(this.words);
    const next = new Int32Array(BANDS * cap);
    next.set(this.next);
    this.words = words;
    this.next = next;
    this.stamp = new Int32Array(cap);
    this.query = 0;
  }
}
