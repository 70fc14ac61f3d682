// The baseline line that effective robustness is measured against: fitted on chosen designs' models,
// on pairs of (reference, shift) accuracies from a file, or taken as fitted lines from a file.
import { existsSync, readFileSync } from 'node:fs';
import { canonicalDataset } from '../eval/dataset-names.js';
import { InputError } from '../util/errors.js';
import type { Point } from './trend-line.js';
import { type Transform, transformAccuracy } from './transform.js';

export type BaselineSpec =
  | { kind: 'designs'; designs: string[] }
  | { kind: 'file'; file: string }
  | { kind: 'default' };

/** `--baseline` value: an existing file, else a comma-separated list of design names. */
export function parseBaselineArg(arg: string | undefined): BaselineSpec {
  if (arg === undefined || arg === '') return { kind: 'default' };
  if (existsSync(arg)) return { kind: 'file', file: arg };
  if (/[/\\]|\.(csv|json)$/i.test(arg)) throw new InputError('--baseline', `no such file: ${arg}`);
  const designs = arg.split(',').map((s) => s.trim()).filter(Boolean);
  if (designs.length === 0) throw new InputError('--baseline', 'empty design list');
  return { kind: 'designs', designs };
}

/** What a baseline file gives: per dataset either points to fit or a ready line. */
export interface BaselineFileContent {
  points: Map<string, Point[]>;
  lines: Map<string, { slope: number; intercept: number }>;
}

function num(v: unknown, where: string, field: string): number {
  const x = typeof v === 'string' ? Number(v) : v;
  if (typeof x !== 'number' || !Number.isFinite(x)) throw new InputError(where, `field ${field} is not a number (${String(v)})`);
  return x;
}

function acc(v: unknown, where: string, field: string): number {
  const x = num(v, where, field);
  if (x < 0 || x > 1) throw new InputError(where, `${field} = ${x} is not an accuracy in [0, 1]`);
  return x;
}

/**
 * Read a baseline file. Accepted: CSV with columns dataset, acc_reference, acc_shift [, n];
 * JSON [{dataset, accReference, accShift, n?}] or {pairs: [...]}; JSON {transform, lines: [{dataset,
 * slope, intercept}]} or a robustness.json (its baseline lines), whose transform must match.
 */
export function readBaselineFile(file: string, t: Transform): BaselineFileContent {
  const text = readFileSync(file, 'utf8');
  const points = new Map<string, Point[]>();
  const lines = new Map<string, { slope: number; intercept: number }>();
  const addPair = (row: Record<string, unknown>, where: string): void => {
    if (typeof row.dataset !== 'string' || row.dataset === '') throw new InputError(where, 'missing field dataset');
    const dataset = canonicalDataset(row.dataset);
    const r = row.accReference ?? row.acc_reference;
    const s = row.accShift ?? row.acc_shift;
    if (r === undefined) throw new InputError(where, 'missing field acc_reference');
    if (s === undefined) throw new InputError(where, 'missing field acc_shift');
    const n = row.n === undefined || row.n === '' ? 10000 : num(row.n, where, 'n');
    const list = points.get(dataset) ?? [];
    list.push({
      x: transformAccuracy(t, acc(r, where, 'acc_reference'), n),
      y: transformAccuracy(t, acc(s, where, 'acc_shift'), n),
    });
    points.set(dataset, list);
  };
  if (file.endsWith('.csv')) {
    const rows = text.split(/\r?\n/).filter((l) => l.trim() !== '');
    const header = rows[0]?.split(',').map((h) => h.trim()) ?? [];
    rows.slice(1).forEach((line, i) => {
      const cells = line.split(',').map((c) => c.trim());
      addPair(Object.fromEntries(header.map((h, j) => [h, cells[j]])), `${file}:${i + 2}`);
    });
  } else {
    let v: unknown;
    try {
      v = JSON.parse(text);
    } catch (err) {
      throw new InputError(file, `not valid JSON or CSV (${(err as Error).message})`);
    }
    const obj = v as Record<string, unknown>;
    if (Array.isArray(v) || Array.isArray(obj?.pairs)) {
      const arr = (Array.isArray(v) ? v : obj.pairs) as Record<string, unknown>[];
      arr.forEach((row, i) => addPair(row, `${file}[${i}]`));
    } else if (Array.isArray(obj?.lines)) {
      if (obj.transform !== undefined && obj.transform !== t.name)
        throw new InputError(file, `lines were fitted in ${String(obj.transform)} space, not ${t.name}`);
      // A robustness.json: use its baseline lines, not its per-design lines.
      const base = (obj.baseline as { lines?: unknown } | undefined)?.lines;
      const key = Array.isArray(base) ? 'baseline.lines' : 'lines';
      ((Array.isArray(base) ? base : obj.lines) as Record<string, unknown>[]).forEach((l, i) => {
        const where = `${file}.${key}[${i}]`;
        if (typeof l.dataset !== 'string') throw new InputError(where, 'missing field dataset');
        lines.set(canonicalDataset(l.dataset), { slope: num(l.slope, where, 'slope'), intercept: num(l.intercept, where, 'intercept') });
      });
    } else throw new InputError(file, 'expected pairs (array or {pairs}) or {lines}');
  }
  if (points.size === 0 && lines.size === 0) throw new InputError(file, 'no baseline pairs or lines');
  return { points, lines };
}
