// Results as CLIP_benchmark writes them (`{dataset, model, pretrained, task, metrics, language}` via Python's
// json.dump, so `"acc5": NaN` below five classes) turned into cliplab results: dataset names mapped, the study
// fields it lacks filled from a design map or defaults, and each default recorded so the analysis can say so.
import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { InputError } from '../util/errors.js';
import { canonicalDataset, TEST_SET_SIZES } from './dataset-names.js';

const SPECIAL: Record<string, number> = { NaN: NaN, Infinity: Infinity, '-Infinity': -Infinity };
// A private-use character: valid raw inside a JSON string, and not in any real result.
const MARK = '\uE000python-float:';

/** JSON.parse that also takes Python json.dump's bare NaN, Infinity and -Infinity (they become numbers). */
export function parsePythonJson(text: string): unknown {
  let out = '';
  let i = 0;
  let last = 0;
  while (i < text.length) {
    const c = text[i]!;
    if (c === '"') {
      // Skip a string, honouring backslash escapes.
      for (i++; i < text.length && text[i] !== '"'; i++) if (text[i] === '\\') i++;
      i++;
      continue;
    }
    const word = /^(-Infinity|Infinity|NaN)/.exec(text.slice(i, i + 9))?.[1];
    if (word) {
      out += `${text.slice(last, i)}"${MARK}${word}"`;
      i += word.length;
      last = i;
      continue;
    }
    i++;
  }
  if (last === 0) return JSON.parse(text);
  return JSON.parse(out + text.slice(last), (_k, v: unknown) => (typeof v === 'string' && v.startsWith(MARK) ? SPECIAL[v.slice(MARK.length)] : v));
}

const entrySchema = z.union([
  z.string().min(1),
  z.strictObject({
    design: z.string().min(1),
    design_info: z.record(z.string(), z.unknown()).optional(),
    samples_seen: z.number().int().nonnegative().optional(),
    seed: z.number().int().optional(),
  }),
]);
type DesignEntry = { design: string; design_info?: Record<string, unknown>; samples_seen?: number; seed?: number };

/** `--design-map FILE`: model id, `pretrained` or `model` → design (or {design, design_info, samples_seen, seed}). */
export interface DesignMap {
  file: string;
  entries: Map<string, DesignEntry>;
  /** Keys some result matched (the rest are reported unused). */
  used: Set<string>;
}

export function readDesignMap(file: string): DesignMap {
  let raw: unknown;
  try {
    const text = readFileSync(file, 'utf8');
    raw = /\.ya?ml$/i.test(file) ? parseYaml(text) : JSON.parse(text);
  } catch (e) {
    throw new InputError(file, `cannot read the design map: ${(e as Error).message.split('\n')[0]}`);
  }
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) throw new InputError(file, 'expected an object: model (or pretrained) → design');
  const entries = new Map<string, DesignEntry>();
  for (const [k, v] of Object.entries(raw)) {
    const r = entrySchema.safeParse(v);
    if (!r.success) throw new InputError(`${file}: ${k}`, `expected a design name or {design, design_info, samples_seen, seed}: ${r.error.issues[0]!.message}`);
    entries.set(k, typeof r.data === 'string' ? { design: r.data } : r.data);
  }
  return { file, entries, used: new Set() };
}

/** The study fields a result lacked and what stood in for them (for the analysis's warnings). */
export type Defaulted = 'design' | 'n' | 'samples_seen' | 'seed';

const isObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);

/**
 * A result value in cliplab's shape: dataset names canonical, NaN metrics as null and, where the study fields
 * are missing (CLIP_benchmark's files), the model id as CLIP_benchmark's build names it (`model pretrained`),
 * the design from the map (else the model id), n from the test-set size (else 10000), seed 0, samples_seen null.
 */
export function normalizeResult(value: unknown, map?: DesignMap): { value: unknown; defaulted: Defaulted[] } {
  if (!isObject(value)) return { value, defaulted: [] };
  const v: Record<string, unknown> = { ...value };
  const defaulted: Defaulted[] = [];
  if (typeof v.dataset === 'string') v.dataset = canonicalDataset(v.dataset);
  if (isObject(v.metrics)) v.metrics = Object.fromEntries(Object.entries(v.metrics).map(([k, x]) => [k, typeof x === 'number' && !Number.isFinite(x) ? null : x]));
  if (v.design !== undefined) return { value: v, defaulted };
  // CLIP_benchmark's model is the architecture and pretrained the weights: together they name the model.
  const arch = typeof v.model === 'string' ? v.model : undefined;
  const pretrained = typeof v.pretrained === 'string' ? v.pretrained : undefined;
  if (arch !== undefined && pretrained !== undefined) v.model = `${arch} ${pretrained}`;
  const key = [v.model, pretrained, arch].find((k): k is string => typeof k === 'string' && map?.entries.has(k) === true);
  const entry = key !== undefined ? map!.entries.get(key)! : undefined;
  if (key !== undefined) map!.used.add(key);
  if (entry) {
    v.design = entry.design;
    if (entry.design_info && v.design_info === undefined) v.design_info = entry.design_info;
  } else if (typeof v.model === 'string') {
    v.design = v.model;
    defaulted.push('design');
  }
  if (v.n === undefined && typeof v.dataset === 'string') {
    v.n = TEST_SET_SIZES[v.dataset] ?? 10_000;
    defaulted.push('n');
  }
  if (v.samples_seen === undefined) {
    v.samples_seen = entry?.samples_seen ?? null;
    if (v.samples_seen === null) defaulted.push('samples_seen');
  }
  if (v.seed === undefined) {
    v.seed = entry?.seed ?? 0;
    if (entry?.seed === undefined) defaulted.push('seed');
  }
  return { value: v, defaulted };
}

/** One line per defaulted field over all results, saying what stood in for it. */
export function describeDefaults(results: { result: { model: string; dataset: string }; defaulted?: Defaulted[] }[]): string[] {
  const by = (f: Defaulted) => results.filter((r) => r.defaulted?.includes(f));
  const lines: string[] = [];
  const design = by('design');
  if (design.length)
    lines.push(`${design.length} results name no design: each of their models is its own design (group them with --design-map FILE)`);
  const n = by('n');
  if (n.length) {
    const sizes = [...new Set(n.map((r) => r.result.dataset))].sort().map((d) => `${d} ${TEST_SET_SIZES[d] ?? '10000 (unknown set)'}`);
    lines.push(`${n.length} results give no n (evaluation examples): assumed the test-set size, ${sizes.join(', ')}`);
  }
  const seed = by('seed');
  if (seed.length) lines.push(`${seed.length} results give no seed: 0 assumed`);
  return lines;
}
