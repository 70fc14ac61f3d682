// Commander flags from an option table: values read by their kinds, repeatable flags collected, required ones named.
import { Command } from 'commander';
import { describe, expect, it } from 'vitest';
import { int, option, text, type ValueKind } from '../util/options.js';
import { addOptions, optionsFromFlags } from './options.js';

const one: ValueKind<string[]> = { ...text, schema: text.schema.array(), fromText: (t) => [t] };
const defs = {
  out: option(text, { flag: '--out <dir>', help: 'o', required: true }),
  jobs: option(int(1), { flag: '--jobs <n>', help: 'j' }),
  arg: option(one, { flag: '--arg <a>', help: 'a', repeatable: true }),
};

function parse(...argv: string[]) {
  const cmd = addOptions(new Command(), defs).exitOverride();
  cmd.parse(argv, { from: 'user' });
  return optionsFromFlags(defs, cmd.opts());
}

describe('addOptions / optionsFromFlags', () => {
  it('reads values by their kinds and collects a repeatable flag in order', () => {
    expect(parse('--out', 'x', '--jobs', '2', '--arg', 'a', '--arg=b,c')).toEqual({ out: 'x', jobs: 2, arg: ['a', 'b,c'] });
  });
  it('names a bad value and a missing required flag', () => {
    expect(() => parse('--out', 'x', '--jobs', '0')).toThrow("--jobs: expected a positive integer, got '0'");
    expect(() => parse('--jobs', '1')).toThrow('--out: required');
  });
});
