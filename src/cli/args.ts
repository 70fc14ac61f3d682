// Parsing of numeric and list flags with errors that name the flag and the bad value.
import { InputError } from '../util/errors.js';

export function intFlag(flag: string, value: string | undefined, fallback: number, min = 1): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!/^\s*-?\d+\s*$/.test(value) || !Number.isSafeInteger(n) || n < min) throw new InputError(flag, `expected an integer >= ${min}, got '${value}'`);
  return n;
}

export function numFlag(flag: string, value: string | undefined, fallback: number, check: (n: number) => boolean = Number.isFinite, want = 'a number'): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n) || !check(n)) throw new InputError(flag, `expected ${want}, got '${value}'`);
  return n;
}
