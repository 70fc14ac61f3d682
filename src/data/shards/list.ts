// Which shards a data argument names: a directory, one .tar, OpenCLIP brace patterns (`{000000..000009}.tar`),
// several joined by `::`; plus sample counts from `sizes.json` (OpenCLIP's) or img2dataset's `<shard>_stats.json`.
import { promises as fsp, readdirSync, readFileSync, statSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { InputError } from '../../util/errors.js';

/** Expands `{a..b}` numeric ranges (zero-padded to the width of `a`) and `{x,y}` lists, left to right. */
export function expandBraces(pattern: string): string[] {
  const m = /\{([^{}]*)\}/.exec(pattern);
  if (!m) return [pattern];
  const head = pattern.slice(0, m.index);
  const tail = pattern.slice(m.index + m[0].length);
  const body = m[1]!;
  let items: string[];
  const range = /^(\d+)\.\.(\d+)$/.exec(body);
  if (range) {
    const [a, b] = [Number(range[1]), Number(range[2])];
    const width = range[1]!.length;
    if (b < a) throw new InputError(pattern, `empty range {${body}}`);
    if (b - a > 1_000_000) throw new InputError(pattern, `range {${body}} is too large`);
    items = [];
    for (let i = a; i <= b; i++) items.push(String(i).padStart(width, '0'));
  } else {
    items = body.split(',');
  }
  return items.flatMap((it) => expandBraces(head + it + tail));
}

function isDir(p: string): boolean {
  try {
    return statSync(p).isDirectory();
  } catch {
    return false;
  }
}

/**
 * Shard paths named by `spec`: a directory (its `*.tar` files, sorted; dotfiles such as unfinished
 * `.000001.tar.tmp-*` are never listed), a `.tar` file, a brace pattern, or several joined by `::`.
 * Throws InputError naming the spec when something named does not exist or nothing is found.
 */
export async function listShards(spec: string): Promise<string[]> {
  const out: string[] = [];
  for (const part of spec.split('::').filter((s) => s.length > 0)) {
    if (isDir(part)) {
      const names = (await fsp.readdir(part)).filter((n) => n.endsWith('.tar') && !n.startsWith('.')).sort();
      out.push(...names.map((n) => join(part, n)));
      continue;
    }
    for (const p of expandBraces(part)) {
      try {
        if (!statSync(p).isFile()) throw new Error('not a file');
      } catch {
        throw new InputError(p, 'no such shard file or directory');
      }
      out.push(p);
    }
  }
  if (out.length === 0) throw new InputError(spec, 'no .tar shards found');
  return out;
}

/** `successes` of img2dataset's `<stem>_stats.json` beside a shard (its sample count), or null. */
async function countFromStatsJson(shard: string): Promise<number | null> {
  try {
    const v = (JSON.parse(await fsp.readFile(shard.replace(/\.tar$/, '_stats.json'), 'utf8')) as { successes?: unknown }).successes;
    return typeof v === 'number' && Number.isInteger(v) && v >= 0 ? v : null;
  } catch {
    return null;
  }
}

/**
 * Sample count of a shard from the `sizes.json` beside it, else from its img2dataset `<stem>_stats.json`
 * (what `cliplab ingest` and img2dataset write), or null when unknown.
 */
export async function shardSizeFromSizesJson(shard: string, cache = new Map<string, Record<string, number> | null>()): Promise<number | null> {
  const dir = dirname(shard);
  if (!cache.has(dir)) {
    try {
      cache.set(dir, JSON.parse(await fsp.readFile(join(dir, 'sizes.json'), 'utf8')) as Record<string, number>);
    } catch {
      cache.set(dir, null);
    }
  }
  const v = cache.get(dir)?.[basename(shard)];
  return typeof v === 'number' ? v : countFromStatsJson(shard);
}

/** Samples in a shard directory: the sum of its sizes.json, else of its shards' `_stats.json`; null if unknown. */
export function dirSampleCount(dir: string): number | null {
  try {
    return Object.values(JSON.parse(readFileSync(join(dir, 'sizes.json'), 'utf8')) as Record<string, number>).reduce((a, n) => a + n, 0);
  } catch {
    // no (readable) sizes.json: try the stats files
  }
  let names: string[];
  try {
    names = readdirSync(dir).filter((n) => n.endsWith('.tar') && !n.startsWith('.'));
  } catch {
    return null;
  }
  let total = 0;
  for (const n of names) {
    try {
      const v = (JSON.parse(readFileSync(join(dir, n.replace(/\.tar$/, '_stats.json')), 'utf8')) as { successes?: unknown }).successes;
      if (typeof v !== 'number') return null;
      total += v;
    } catch {
      return null;
    }
  }
  return names.length > 0 ? total : null;
}

/** Total samples of `shards` according to sizes.json, or null if any shard is missing from it. */
export async function countFromSizesJson(shards: readonly string[]): Promise<number | null> {
  const cache = new Map<string, Record<string, number> | null>();
  let n = 0;
  for (const s of shards) {
    const c = await shardSizeFromSizesJson(s, cache);
    if (c === null) return null;
    n += c;
  }
  return n;
}
