// Finiteness checks: a NaN or infinity in weights, features or logits would otherwise flow into results that
// look valid (NaN compares false, so every rank is 0 and accuracy is 100%). Callers name what is broken.

export interface NonFinite {
  /** Index of the first non-finite value. */
  index: number;
  value: number;
  /** How many values are not finite, out of `length`. */
  count: number;
  length: number;
}

const fmt = (n: number): string => n.toLocaleString('en-US');

/** "NaN at element 3 (12 of 4,096 values are not finite)". */
export function formatNonFinite(b: NonFinite): string {
  return `${String(b.value)} at element ${b.index} (${fmt(b.count)} of ${fmt(b.length)} values are not finite)`;
}

/** The first non-finite value of `a` and how many there are, or null when every value is finite. */
export function findNonFinite(a: ArrayLike<number>): NonFinite | null {
  let index = -1;
  let count = 0;
  for (let i = 0; i < a.length; i++) {
    if (!Number.isFinite(a[i]!)) {
      if (index < 0) index = i;
      count++;
    }
  }
  return index < 0 ? null : { index, value: a[index]!, count, length: a.length };
}

/** findNonFinite for raw IEEE half (F16) or bfloat16 (BF16) bit patterns: the exponent is all ones. */
export function findNonFiniteHalf(bits: Uint16Array, bf16: boolean): NonFinite | null {
  const mask = bf16 ? 0x7f80 : 0x7c00;
  let index = -1;
  let count = 0;
  for (let i = 0; i < bits.length; i++) {
    if ((bits[i]! & mask) === mask) {
      if (index < 0) index = i;
      count++;
    }
  }
  if (index < 0) return null;
  const b = bits[index]!;
  const value = b & (bf16 ? 0x7f : 0x3ff) ? NaN : b & 0x8000 ? -Infinity : Infinity;
  return { index, value, count, length: bits.length };
}
