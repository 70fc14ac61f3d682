// Option tables: value kinds read command-line text strictly, errors name the flag, stored keys are listed.
import { describe, expect, it } from 'vitest';
import { choice, flagName, int, list, num, option, readFlag, resultParams, text, validateAgainst } from './options.js';

describe('option tables', () => {
  const defs = {
    batchSize: option(int(1), { flag: '--batch-size <b>', help: 'b', param: 'batch_size', result: true }),
    warmup: option(int(0), { flag: '--warmup <n>', help: 'w', param: 'warmup' }),
    lr: option(num('a number >= 0', (n) => n >= 0), { flag: '--lr <x>', help: 'lr', param: 'lr', result: true }),
    mode: option(choice(['a', 'b'] as const), { flag: '--mode <m>', help: 'm' }),
    dirs: option(list(text), { flag: '--dirs <d>', help: 'd' }),
    sizes: option(list(int(1), { length: 2 }), { flag: '--sizes <a,b>', help: 's' }),
  };

  it('reads integers strictly', () => {
    expect(readFlag(defs.batchSize, '12')).toBe(12);
    for (const bad of ['0', '1.5', '1e3', 'abc', '', '99999999999999999999'])
      expect(() => readFlag(defs.batchSize, bad), bad).toThrow(`--batch-size: expected a positive integer, got '${bad}'`);
    expect(readFlag(defs.warmup, '0')).toBe(0);
    expect(() => readFlag(defs.warmup, '-1')).toThrow('--warmup: expected an integer >= 0');
  });

  it('reads numbers, choices and lists', () => {
    expect(readFlag(defs.lr, '1e-3')).toBe(1e-3);
    expect(() => readFlag(defs.lr, '-1')).toThrow("--lr: expected a number >= 0, got '-1'");
    expect(() => readFlag(defs.lr, 'Infinity')).toThrow('--lr');
    expect(() => readFlag(defs.lr, ' ')).toThrow('--lr');
    expect(readFlag(defs.mode, 'b')).toBe('b');
    expect(() => readFlag(defs.mode, 'c')).toThrow("--mode: expected one of a|b, got 'c'");
    expect(readFlag(defs.dirs, 'x,,y')).toEqual(['x', 'y']);
    expect(() => readFlag(defs.dirs, ',')).toThrow('--dirs');
    expect(readFlag(defs.sizes, '3,4')).toEqual([3, 4]);
    expect(() => readFlag(defs.sizes, '3,4,5')).toThrow('--sizes');
    expect(() => readFlag(defs.sizes, '3,x')).toThrow('--sizes');
  });

  it('validates library values by the same kinds', () => {
    expect(() => validateAgainst(defs, { batchSize: 2, lr: 0, mode: 'a' })).not.toThrow();
    expect(() => validateAgainst(defs, { batchSize: 2.5 })).toThrow('--batch-size: expected a positive integer, got 2.5');
    expect(() => validateAgainst(defs, { lr: NaN })).toThrow('--lr');
  });

  it('lists the stored keys that define a result, and flag names', () => {
    expect(resultParams(defs)).toEqual(['batch_size', 'lr']);
    expect(flagName(defs.sizes)).toBe('--sizes');
  });
});
