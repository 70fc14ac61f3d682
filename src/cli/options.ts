// Commander flags from an option table (src/util/options.ts), and the typed options back from the parsed flags.
import type { Command } from 'commander';
import { type OptionDefs, type OptionsOf, flagName, readFlag } from '../util/options.js';

/** Commander's attribute for a flag: `--batch-size` → `batchSize`. */
function attribute(flag: string): string {
  return flag.replace(/^--/, '').replace(/-([a-z0-9])/g, (_, c: string) => c.toUpperCase());
}

function helpText(def: OptionDefs[string]): string {
  return def.defaultText === undefined ? def.help : `${def.help} (default ${def.defaultText})`;
}

/** Adds one commander option per entry of `defs`, in table order. */
export function addOptions(cmd: Command, defs: OptionDefs): Command {
  for (const def of Object.values(defs)) {
    if (def.required) cmd.requiredOption(def.flag, helpText(def));
    else cmd.option(def.flag, helpText(def));
  }
  return cmd;
}

/** The typed options of the flags commander parsed: each value read and checked by its option's kind. */
export function optionsFromFlags<D extends OptionDefs>(defs: D, flags: Record<string, unknown>): OptionsOf<D> {
  const out: Record<string, unknown> = {};
  for (const [key, def] of Object.entries(defs)) {
    const raw = flags[attribute(flagName(def))];
    if (raw === undefined) continue;
    out[key] = typeof raw === 'boolean' ? raw : readFlag(def, String(raw));
  }
  return out as OptionsOf<D>;
}
