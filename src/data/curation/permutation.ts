// A seeded random permutation of [0, n) evaluated one element at a time in O(1) memory: a 4-round Feistel
// network on the smallest even number of bits covering n, cycle-walked back into range (at most 4 steps
// expected). The build picks and orders its samples with it, so no list of every sample is held in memory.
// Hand-written: a few lines, and no maintained npm package offers it.
import { Rng } from '../../util/rng.js';

function fmix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

export class Permutation {
  private readonly half: number;
  private readonly mask: number;
  private readonly keys: number[];

  constructor(
    readonly n: number,
    seed: bigint | number,
  ) {
    if (!Number.isInteger(n) || n < 0 || n > 2 ** 32) throw new RangeError(`permutation size ${n} out of range`);
    let bits = 2;
    while (2 ** bits < n) bits += 2;
    this.half = bits / 2;
    this.mask = 2 ** this.half - 1;
    const rng = new Rng(seed);
    this.keys = [rng.nextU32(), rng.nextU32(), rng.nextU32(), rng.nextU32()];
  }

  /** One pass of the Feistel network: a bijection of [0, 2^bits). */
  private round(x: number): number {
    let l = Math.floor(x / 2 ** this.half);
    let r = x % 2 ** this.half;
    for (const k of this.keys) {
      const t = (l ^ (fmix32((r ^ k) >>> 0) & this.mask)) >>> 0;
      l = r;
      r = t;
    }
    return l * 2 ** this.half + r;
  }

  /** The image of `i` (0 ≤ i < n). */
  at(i: number): number {
    if (!(i >= 0 && i < this.n)) throw new RangeError(`permutation index ${i} outside [0, ${this.n})`);
    let x = this.round(i);
    while (x >= this.n) x = this.round(x);
    return x;
  }
}
