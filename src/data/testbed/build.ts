// `buildTestbed`: renders the icon and emoji sets into the evaluation ImageFolders and the training sources
// (one family of sets each, as WebDataset shards with their caption conventions and misaligned pairs; any
// near copy of an evaluation image left out and listed), then writes `DIR/testbed.json`.
import { createHash } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import { basename, join } from 'node:path';
import sharp from 'sharp';
import { loadAnnotations, packageVersion, type Annotations, type Concept } from './annotations.js';
import { makeCaption } from './captions.js';
import { corruptReference } from './corruption-shift.js';
import {
  DEFAULTS,
  EVAL_CLASS_COUNT,
  EVAL_CLASS_SEED,
  CLASS_FAMILIES,
  EVAL_ICON_SET_NAMES,
  EVAL_SETS,
  FULL_SUFFIX,
  REFERENCE_SET,
  SHIFT_SETS,
  SOURCE_SPECS,
  SYNTHETIC_SHIFT,
  TESTBED_VERSION,
  type EvalSetName,
  type SourceSpec,
} from './constants.js';
import { FAMILY_SETS, iconPackages, refKey } from './families.js';
import { MIN_ARTWORKS_PER_FAMILY, classEligibility, compareHex, conceptPriority, evalClasses, loadIconSets, sharedConcepts, type IconSetIndex, type IconSvg } from './icon-sets.js';
import { type BuildTestbedOptions } from './options.js';
import { MANIFEST_FILE, type TestbedEvalSet, type TestbedManifest, type TestbedSource } from './manifest.js';
import { distortedView, evalView, renderView, trainingView } from './render.js';
import { ReferenceSet } from '../images/hash-sets.js';
import { ShardWriter } from '../shards/writer.js';
import { packageVersion as cliplabVersion } from '../../util/assets.js';
import { InputError } from '../../util/errors.js';
import { withDirLock } from '../../util/dir-lock.js';
import { writeJsonAtomic } from '../../util/fs.js';
import { progress } from '../../util/progress.js';
import { Rng } from '../../util/rng.js';

type Resolved = Required<Omit<BuildTestbedOptions, 'concepts' | 'corruptionSeverity'>> & { concepts: number | null; corruptionSeverity: number | null };

function resolveOptions(o: BuildTestbedOptions): Resolved {
  const r: Resolved = {
    out: o.out,
    imageSize: o.imageSize ?? DEFAULTS.imageSize,
    misaligned: o.misaligned ?? DEFAULTS.misaligned,
    seed: o.seed ?? DEFAULTS.seed,
    concepts: o.concepts ?? null,
    views: o.views ?? DEFAULTS.views,
    evalViews: o.evalViews ?? DEFAULTS.evalViews,
    evalViewsFull: o.evalViewsFull ?? DEFAULTS.evalViewsFull,
    shardSize: o.shardSize ?? DEFAULTS.shardSize,
    corruptionSeverity: o.corruptionSeverity ?? null,
    concurrency: o.concurrency ?? 8,
  };
  const int = (key: string, v: number, lo: number, hi: number): void => {
    if (!Number.isInteger(v) || v < lo || v > hi) throw new InputError(key, `must be an integer in [${lo}, ${hi}], got ${v}`);
  };
  if (!r.out) throw new InputError('out', 'an output directory is required');
  int('imageSize', r.imageSize, 8, 1024);
  if (!(r.misaligned >= 0 && r.misaligned < 1)) throw new InputError('misaligned', `must be a fraction in [0, 1), got ${r.misaligned}`);
  int('seed', r.seed, 0, 2 ** 32 - 1);
  if (r.concepts !== null) int('concepts', r.concepts, 1, 100_000);
  int('views', r.views, 1, 1000);
  int('evalViews', r.evalViews, 1, 1000);
  int('evalViewsFull', r.evalViewsFull, 1, 1000);
  int('shardSize', r.shardSize, 1, 1_000_000);
  if (r.corruptionSeverity !== null) int('corruptionSeverity', r.corruptionSeverity, 1, 5);
  int('concurrency', r.concurrency, 1, 256);
  return r;
}

/** An independent, order-free random stream for one item: FNV-1a of `tag` mixed with the build seed. */
export function itemRng(seed: number, tag: string): Rng {
  let h = 0xcbf29ce484222325n;
  for (const b of Buffer.from(tag, 'utf8')) h = BigInt.asUintN(64, (h ^ BigInt(b)) * 0x100000001b3n);
  return new Rng(BigInt.asUintN(64, h ^ (BigInt(seed) * 0x9e3779b97f4a7c15n)));
}

/** Maps `fn` over `items` with up to `width` calls in flight, yielding results in input order. */
async function* orderedMap<T, R>(items: readonly T[], fn: (item: T, i: number) => Promise<R>, width: number): AsyncGenerator<R> {
  const inFlight: Promise<R>[] = [];
  let next = 0;
  const launch = (): void => {
    const p = fn(items[next]!, next);
    p.catch(() => {}); // surfaced when awaited in order
    inFlight.push(p);
    next++;
  };
  while (next < items.length && inFlight.length < width) launch();
  while (inFlight.length > 0) {
    const r = await inFlight.shift()!;
    if (next < items.length) launch();
    yield r;
  }
}

const sha256 = (data: Uint8Array | string): string => createHash('sha256').update(data).digest('hex');
const classDir = (hex: string): string => hex.toLowerCase();

/**
 * Radius (bits of the perceptual hash) within which a training image counts as a copy of an evaluation image
 * and is left out: copies, re-encodes and resizes come within 4. Not the dataset builds' default of 10: at
 * 10 a third of the training icons match some unrelated evaluation icon (simple shapes on white).
 */
export const DECONTAMINATION_DISTANCE = 4;

interface Context {
  opts: Resolved;
  ann: Annotations;
  sets: Map<string, IconSetIndex>;
  universe: Set<string> | null;
  tick: (n?: number) => void;
  /** Every evaluation image, labelled `eval/<set>/<class>/<n>.png`. */
  evalImages: ReferenceSet;
}

function conceptOf(ann: Annotations, hex: string): Concept {
  return ann.concepts.get(hex)!;
}

/** The (set, concept, view) items of a source: every concept of the universe each of its sets depicts. */
function sourceItems(ctx: Context, spec: SourceSpec): { items: { set: string; hex: string; view: number }[]; hexes: string[] } {
  const items: { set: string; hex: string; view: number }[] = [];
  const hexes = new Set<string>();
  for (const ref of FAMILY_SETS[spec.name]) {
    const set = ctx.sets.get(refKey(ref))!;
    for (const hex of [...set.icons.keys()].filter((h) => !ctx.universe || ctx.universe.has(h)).sort(compareHex)) {
      hexes.add(hex);
      for (let view = 0; view < ctx.opts.views; view++) items.push({ set: refKey(ref), hex, view });
    }
  }
  return { items, hexes: [...hexes].sort(compareHex) };
}

async function buildSource(ctx: Context, spec: SourceSpec): Promise<TestbedSource> {
  const { opts, ann } = ctx;
  const { items, hexes } = sourceItems(ctx, spec);
  itemRng(opts.seed, `order/${spec.name}`).shuffle(items);
  const nMis = hexes.length > 1 ? Math.round(opts.misaligned * items.length) : 0;
  const misaligned = new Set(itemRng(opts.seed, `misaligned/${spec.name}`).shuffle(items.map((_, i) => i)).slice(0, nMis));

  const dir = join(opts.out, 'sources', spec.name);
  await fsp.rm(dir, { recursive: true, force: true });
  const writer = new ShardWriter({ dir, shardSize: opts.shardSize });
  const samples = orderedMap(
    items,
    async ({ set: setKey, hex, view }, i) => {
      const rng = itemRng(opts.seed, `source/${spec.name}/${setKey}/${hex}/${view}`);
      const { icon, svg } = ctx.sets.get(setKey)!.icons.get(hex)!;
      const image = await renderView(trainingView(svg, rng.fork(1), view), opts.imageSize);
      const mis = misaligned.has(i);
      let captionHex = hex;
      if (mis) {
        const pickRng = rng.fork(2);
        while (captionHex === hex) captionHex = hexes[pickRng.int(hexes.length)]!;
      }
      const caption = makeCaption(spec.convention, conceptOf(ann, captionHex), rng.fork(3));
      const setName = setKey.split(':')[0]!;
      const meta: Record<string, unknown> = {
        source: spec.name,
        set: setKey,
        id: `${setName}:${icon}:${view}`,
        url: `https://api.iconify.design/${setName}/${icon}.svg`,
        width: opts.imageSize,
        height: opts.imageSize,
        concept: hex,
        label: conceptOf(ann, hex).name,
        icon,
        view,
        convention: spec.convention,
        lang: caption.lang,
        misaligned: mis,
      };
      if (mis) meta.caption_concept = captionHex;
      const key = `${spec.name}-${setKey.replace(':', '-')}-${classDir(hex)}-${view}`;
      const copyOf = await ctx.evalImages.match(image, DECONTAMINATION_DISTANCE);
      return { sample: { key, image, imageExt: 'png' as const, caption: caption.text, meta }, copyOf };
    },
    opts.concurrency,
  );
  const decontaminated: { key: string; eval: string; distance: number }[] = [];
  let written = 0;
  let writtenMisaligned = 0;
  for await (const { sample, copyOf } of samples) {
    if (copyOf) decontaminated.push({ key: sample.key, eval: copyOf.label, distance: copyOf.distance });
    else {
      await writer.write(sample);
      written++;
      if (sample.meta.misaligned) writtenMisaligned++;
    }
    ctx.tick();
  }
  const shards = await writer.close();
  const perSet = new Map<string, number>();
  for (const it of items) if (it.view === 0) perSet.set(it.set, (perSet.get(it.set) ?? 0) + 1);
  return {
    name: spec.name,
    style: spec.style,
    convention: spec.convention,
    dir: `sources/${spec.name}`,
    sets: FAMILY_SETS[spec.name].map((r) => ({ set: refKey(r), concepts: perSet.get(refKey(r)) ?? 0 })),
    concepts: hexes.length,
    samples: written,
    misaligned: writtenMisaligned,
    decontaminated,
    shards: await Promise.all(
      shards.map(async (s) => ({ file: basename(s.file), samples: s.count, sha256: sha256(await fsp.readFile(s.file)) })),
    ),
  };
}

async function buildEvalSet(
  ctx: Context,
  base: EvalSetName,
  full: boolean,
  classes: readonly string[],
  views: number,
  distractors: readonly IconSvg[],
): Promise<TestbedEvalSet> {
  const { opts, ann } = ctx;
  const name = base + (full ? FULL_SUFFIX : '');
  const iconSetName = base === SYNTHETIC_SHIFT ? REFERENCE_SET : base;
  const set = ctx.sets.get(iconSetName)!;
  const evalRoot = join(opts.out, 'eval');
  const stage = join(evalRoot, `.tmp-${name}`);
  await fsp.rm(stage, { recursive: true, force: true });
  const sorted = [...classes].sort(compareHex);
  for (const hex of sorted) await fsp.mkdir(join(stage, classDir(hex)), { recursive: true });
  const items = sorted.flatMap((hex) => Array.from({ length: views }, (_, n) => ({ hex, n })));
  const lines: string[] = [];
  const images = orderedMap(
    items,
    async ({ hex, n }) => {
      const rng = itemRng(opts.seed, `eval/${base}/${hex}/${n}`);
      const svg = set.icons.get(hex)!.svg;
      const view = base === SYNTHETIC_SHIFT ? distortedView(svg, rng, distractors) : evalView(svg, rng, n);
      return { rel: `${classDir(hex)}/${n}.png`, png: await renderView(view, opts.imageSize) };
    },
    opts.concurrency,
  );
  for await (const { rel, png } of images) {
    await fsp.writeFile(join(stage, rel), png);
    lines.push(`${rel}\t${sha256(png)}\n`);
    ctx.tick();
  }
  const classnames = sorted.map((h) => conceptOf(ann, h).name);
  const classesJson = sorted.map((h) => {
    const c = conceptOf(ann, h);
    return { dir: classDir(h), hexcode: h, emoji: c.emoji, name: c.name, icon: set.icons.get(h)!.icon };
  });
  await fsp.writeFile(join(stage, 'classnames.json'), JSON.stringify(classnames, null, 1) + '\n');
  await fsp.writeFile(join(stage, 'classes.json'), JSON.stringify(classesJson, null, 1) + '\n');
  const target = join(evalRoot, name);
  await fsp.rm(target, { recursive: true, force: true });
  await fsp.rename(stage, target);
  return {
    name,
    iconSet: iconSetName,
    role: base === REFERENCE_SET ? 'reference' : 'shift',
    kind: base === SYNTHETIC_SHIFT ? 'synthetic' : 'natural',
    full,
    dir: `eval/${name}`,
    classes: sorted.length,
    viewsPerClass: views,
    images: items.length,
    sha256: sha256(lines.sort().join('')),
  };
}

function packageVersions(): Record<string, string> {
  const out: Record<string, string> = {};
  for (const p of iconPackages()) out[p] = packageVersion(p);
  out['cldr-annotations-full'] = packageVersion('cldr-annotations-full');
  out['emojibase-data'] = packageVersion('emojibase-data');
  out.sharp = sharp.versions.sharp ?? '';
  out.librsvg = sharp.versions.rsvg ?? '';
  return out;
}

/**
 * Materializes the testbed under `opts.out`: `sources/<name>/` shards, `eval/<name>/` ImageFolders and
 * `testbed.json` (written last, so a directory with a manifest holds a complete build). Same options →
 * byte-identical files.
 */
export async function buildTestbed(options: BuildTestbedOptions): Promise<TestbedManifest> {
  const opts = resolveOptions(options);
  return withDirLock(opts.out, 'testbed build', () => buildLocked(opts));
}

async function buildLocked(opts: Resolved): Promise<TestbedManifest> {
  const ann = loadAnnotations();
  const sets = loadIconSets(ann);
  const shared = sharedConcepts(EVAL_ICON_SET_NAMES.map((n) => sets.get(n)!));
  const eligible = classEligibility(ann, CLASS_FAMILIES.map((f) => FAMILY_SETS[f].map((r) => sets.get(refKey(r))!)));
  const priority = conceptPriority(shared, eligible);
  if (opts.concepts !== null && opts.concepts > priority.length) {
    throw new InputError('concepts', `at most ${priority.length} concepts are shared by every evaluation set, got ${opts.concepts}`);
  }
  const universeList = (opts.concepts === null ? [...shared] : priority.slice(0, opts.concepts)).sort(compareHex);
  const universe = opts.concepts === null ? null : new Set(universeList);
  const classes = evalClasses(priority, eligible, opts.concepts ?? priority.length);
  const sharedSet = new Set(shared);
  const reference = sets.get(REFERENCE_SET)!;
  const distractors = [...reference.icons.keys()].filter((h) => !sharedSet.has(h)).sort(compareHex).map((h) => reference.icons.get(h)!.svg);

  await fsp.mkdir(opts.out, { recursive: true });
  await fsp.rm(join(opts.out, MANIFEST_FILE), { force: true });
  const ctx: Context = { opts, ann, sets, universe, tick: (n = 1) => bar.tick(n), evalImages: new ReferenceSet() };
  const total =
    SOURCE_SPECS.reduce((a, s) => a + sourceItems(ctx, s).items.length, 0) +
    (EVAL_SETS.length + (opts.corruptionSeverity === null ? 0 : 1)) * (classes.length * opts.evalViews + universeList.length * opts.evalViewsFull);
  const bar = progress('testbed build', total, 'images');
  try {
    // Evaluation sets first: the training sources are written without near copies of their images.
    const evalSets: TestbedEvalSet[] = [];
    for (const base of EVAL_SETS) {
      evalSets.push(await buildEvalSet(ctx, base, false, classes, opts.evalViews, distractors));
      evalSets.push(await buildEvalSet(ctx, base, true, universeList, opts.evalViewsFull, distractors));
    }
    for (const e of evalSets) await ctx.evalImages.addImageFolder(join(opts.out, e.dir), `${e.dir}/`);
    const sources: TestbedSource[] = [];
    for (const spec of SOURCE_SPECS) sources.push(await buildSource(ctx, spec));
    const manifest: TestbedManifest = {
      version: TESTBED_VERSION,
      generator: `cliplab ${cliplabVersion()}`,
      args: {
        imageSize: opts.imageSize,
        misaligned: opts.misaligned,
        seed: opts.seed,
        concepts: opts.concepts,
        views: opts.views,
        evalViews: opts.evalViews,
        evalViewsFull: opts.evalViewsFull,
        shardSize: opts.shardSize,
        corruptionSeverity: opts.corruptionSeverity,
      },
      packages: packageVersions(),
      concepts: universeList.map((h) => {
        const c = conceptOf(ann, h);
        return { hexcode: h, dir: classDir(h), emoji: c.emoji, name: c.name, label: c.label, group: c.group, subgroup: c.subgroup };
      }),
      classes,
      classSelection: {
        seed: EVAL_CLASS_SEED,
        count: EVAL_CLASS_COUNT,
        rule: `single-code-point concepts in every evaluation set, outside symbols/flags/components, look-alike families and UI-icon homonyms, drawn by >= ${MIN_ARTWORKS_PER_FAMILY} sets of each of ${CLASS_FAMILIES.join(', ')}; hexcode-sorted, shuffled with the seed, first count`,
      },
      reference: REFERENCE_SET,
      shifts: [...SHIFT_SETS],
      sources,
      eval: evalSets,
    };
    if (opts.corruptionSeverity !== null) await corruptReference(opts.out, manifest, { severity: opts.corruptionSeverity, seed: opts.seed }, ctx.tick);
    await writeJsonAtomic(join(opts.out, MANIFEST_FILE), manifest);
    return manifest;
  } finally {
    bar.stop();
  }
}
