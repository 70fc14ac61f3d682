// Commander flags from an option table (src/util/options.ts), and the typed options back from the parsed flags.
import type { Command } from 'commander';
import { InputError } from '../util/errors.js';
import { type OptionDefs, type OptionsOf, flagName, readFlag } from '../util/options.js';

/** Commander's attribute for a flag: `--batch-size` → `batchSize`, `--no-cache` → `cache`. */
function attribute(flag: string): string {
  return flag.replace(/^--(no-)?/, '').replace(/-([a-z0-9])/g, (_, c: string) => c.toUpperCase());
}

function helpText(def: OptionDefs[string]): string {
  return def.defaultText === undefined ? def.help : `${def.help} (default ${def.defaultText})`;
}

/**
 * Adds one commander option per entry of `defs`, in table order. Required flags are checked in
 * optionsFromFlags, not by commander: commander reports a missing required flag before an unknown one, so
 * `train --dat x` would say "--out not specified" instead of naming the mistyped flag.
 */
export function addOptions(cmd: Command, defs: OptionDefs): Command {
  for (const def of Object.values(defs)) {
    const help = def.required ? `${helpText(def)} (required)` : helpText(def);
    if (def.repeatable) cmd.option(def.flag, help, (v: string, acc: string[] = []) => [...acc, v]);
    else cmd.option(def.flag, help);
  }
  return cmd;
}

/** The typed options of the flags commander parsed: each value read and checked by its option's kind. */
export function optionsFromFlags<D extends OptionDefs>(defs: D, flags: Record<string, unknown>): OptionsOf<D> {
  const out: Record<string, unknown> = {};
  for (const [key, def] of Object.entries(defs)) {
    const raw = flags[attribute(flagName(def))];
    if (raw === undefined && def.required) throw new InputError(flagName(def), 'required');
    if (raw === undefined) continue;
    if (typeof raw === 'boolean') out[key] = raw;
    else if (Array.isArray(raw)) out[key] = raw.flatMap((t: string) => readFlag(def, t) as unknown[]);
    else out[key] = readFlag(def, String(raw));
  }
  return out as OptionsOf<D>;
}
