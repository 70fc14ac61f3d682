// Options declared once: each option's type (a zod schema), its command-line flag and help, its key in a
// stored params file and whether a resumed run must keep it. The CLI flags, the library's option types,
// the validation errors and the stored params all derive from one such table.
import { z } from 'zod';
import { InputError } from './errors.js';

/** How one kind of value is checked, described in errors and read from a command-line string. */
export interface ValueKind<T> {
  schema: z.ZodType<T>;
  /** What a good value looks like, for errors: "expected <want>, got …". */
  want: string;
  /** Reads the command line's string; returns undefined when it cannot be read as this kind. */
  fromText(text: string): T | undefined;
}

/** One option: its kind, flag (commander syntax: `--batch-size <b>` or `--lock-image`) and help. */
export interface OptionDef<T = unknown, P extends string | undefined = string | undefined> {
  kind: ValueKind<T>;
  flag: string;
  help: string;
  /** Key in the stored params (RUN/params.json and the like); undefined: not stored. */
  param: P;
  /** A value that changes the result: a resumed run must keep it. */
  result: boolean;
  /** Stored as null when unset (no default). */
  nullable: boolean;
  /** The command line must give it. */
  required: boolean;
  /** The flag may be given more than once; the values of each are concatenated (the kind reads a list). */
  repeatable: boolean;
  /** Help text for the default, shown as "(default …)". */
  defaultText?: string;
}

export type OptionDefs = Record<string, OptionDef<any, any>>;

type ValueOf<D> = D extends OptionDef<infer T, any> ? T : never;

/** The library options of a table: every option optional, typed by its kind. */
export type OptionsOf<D extends OptionDefs> = { [K in keyof D]?: ValueOf<D[K]> };

/** The stored params of a table: one key per stored option (null when unset, for nullable ones). */
export type ParamsOf<D extends OptionDefs> = {
  [K in keyof D as D[K]['param'] extends string ? D[K]['param'] : never]: D[K]['nullable'] extends true ? ValueOf<D[K]> | null : ValueOf<D[K]>;
};

/** Declares one option. `param` names its stored key; `result` marks it as part of what defines a result. */
export function option<T, const P extends string | undefined = undefined, const N extends boolean = false>(
  kind: ValueKind<T>,
  meta: { flag: string; help: string; param?: P; result?: boolean; nullable?: N; required?: boolean; repeatable?: boolean; defaultText?: string },
): OptionDef<T, P> & { nullable: N } {
  return {
    kind,
    flag: meta.flag,
    help: meta.help,
    param: meta.param as P,
    result: meta.result ?? false,
    nullable: (meta.nullable ?? false) as N,
    required: meta.required ?? false,
    repeatable: meta.repeatable ?? false,
    defaultText: meta.defaultText,
  };
}

/** The long flag of a definition, e.g. `--batch-size` of `--batch-size <b>`. */
export function flagName(def: OptionDef): string {
  return def.flag.split(/[ ,]/)[0]!;
}

/** Checks every value given against its option's kind; throws an InputError naming the first bad flag. */
export function validateAgainst<D extends OptionDefs>(defs: D, values: OptionsOf<D>): void {
  for (const [key, def] of Object.entries(defs)) {
    const v = (values as Record<string, unknown>)[key];
    if (v === undefined) continue;
    if (!def.kind.schema.safeParse(v).success) throw new InputError(flagName(def), `expected ${def.kind.want}, got ${JSON.stringify(v)}`);
  }
}

/** Reads one command-line string as its option's kind; throws naming the flag and the text. */
export function readFlag<T>(def: OptionDef<T>, text: string): T {
  const v = def.kind.fromText(text);
  if (v === undefined || !def.kind.schema.safeParse(v).success) throw new InputError(flagName(def), `expected ${def.kind.want}, got '${text}'`);
  return v;
}

/** Keys of the options that define a result (a resume must keep them), as their stored names. */
export function resultParams<D extends OptionDefs>(defs: D): string[] {
  return Object.values(defs).filter((d) => d.result && d.param).map((d) => d.param as string);
}

// ---- value kinds ----

const INT_TEXT = /^\s*-?\d+\s*$/;

/** An integer >= min. */
export function int(min: number): ValueKind<number> {
  return {
    schema: z.number().int().min(min).refine(Number.isSafeInteger),
    want: min === 1 ? 'a positive integer' : `an integer >= ${min}`,
    fromText: (t) => (INT_TEXT.test(t) ? Number(t) : undefined),
  };
}

/** int(1) worded "an integer >= 1": what the flags read before the option tables said (int(1): "a positive integer"). */
export const count: ValueKind<number> = { ...int(1), want: 'an integer >= 1' };

/** A finite number satisfying `ok`, described as `want`. */
export function num(want: string, ok: (n: number) => boolean = () => true): ValueKind<number> {
  return {
    schema: z.number().refine((n) => Number.isFinite(n) && ok(n)),
    want,
    fromText: (t) => (t.trim() === '' ? undefined : Number(t)),
  };
}

/** One of a fixed set of strings. */
export function choice<const T extends string>(values: readonly T[]): ValueKind<T> {
  return {
    schema: z.enum(values as unknown as [T, ...T[]]) as unknown as z.ZodType<T>,
    want: `one of ${values.join('|')}`,
    fromText: (t) => t as T,
  };
}

/** A non-empty string. */
export const text: ValueKind<string> = { schema: z.string().min(1), want: 'a non-empty value', fromText: (t) => t };

/** A switch (a flag without a value). */
export const flag: ValueKind<boolean> = { schema: z.boolean(), want: 'true or false', fromText: () => true };

/** A comma-separated list of `item`s; `length` fixes how many. */
export function list<T>(item: ValueKind<T>, opts: { length?: number; want?: string } = {}): ValueKind<T[]> {
  const want = opts.want ?? `comma-separated ${item.want.replace(/^an? /, '')}s`;
  let schema = z.array(item.schema).min(1);
  if (opts.length !== undefined) schema = schema.length(opts.length);
  return {
    schema,
    want,
    fromText: (t) => {
      const parts = t.split(',').filter((s) => s.length > 0);
      const out = parts.map((p) => item.fromText(p));
      return out.some((v) => v === undefined) ? undefined : (out as T[]);
    },
  };
}
