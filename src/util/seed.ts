// Seeds derived from a user's seed and labels, so that every random stream (shard order, augmentation,
// subsampling, bootstrap) is independent of the others and reproducible on its own.

/** A 64-bit seed mixed from parts (FNV-1a over their text); different parts give independent streams. */
export function seedFrom(...parts: (number | string)[]): bigint {
  let h = 0xcbf29ce484222325n;
  for (const ch of parts.join('\u0001')) {
    h ^= BigInt(ch.codePointAt(0)!);
    h = BigInt.asUintN(64, h * 0x100000001b3n);
  }
  return h;
}

/** A stable 32-bit seed from a seed and a label (FNV-1a over UTF-16 code units), e.g. one per bootstrapped line. */
export function seedFor(seed: number, label: string): number {
  let h = 2166136261 ^ seed;
  for (let i = 0; i < label.length; i++) h = Math.imul(h ^ label.charCodeAt(i), 16777619);
  return h >>> 0;
}
