// Expands a validated study spec into designs, models and the job graph (testbed → data → train → eval),
// after the cross-entry checks: unknown sources, proportions not summing to 1, missing filter models,
// unknown sizes or ensemble members, duplicate names. Every check fails before any job starts.
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { dirSampleCount } from '../data/shards/list.js';
import { TRAINING_SOURCES } from '../data/testbed/index.js';
import { InputError } from '../util/errors.js';
import type { JobDefinition } from './store.js';
import { type DesignSpec, type LoadedSpec, type SizeSpec, looksLikePath, resolveSpecPath } from './spec.js';

export type DesignKind = 'source' | 'mixture' | 'filtered' | 'ensemble' | 'reference';

export interface FilterPlan {
  source: string;
  /** The filter model: a model of this study (by id) or a checkpoint/run path. */
  model: { id: string; design: string } | { path: string };
  threshold?: number;
  fraction?: number;
}

export interface DesignPlan {
  name: string;
  kind: DesignKind;
  /** Source → proportion (source/filtered: {source: 1}; ensemble: member design → weight). */
  sources: Record<string, number>;
  filter?: FilterPlan;
  /** Ensemble: member design → weight. */
  members?: Record<string, number>;
  sizes: SizeSpec[];
  seeds: number[];
}

export interface ModelPlan {
  id: string;
  design: string;
  size: SizeSpec;
  seed: number;
  /** A reference model: the checkpoint evaluated as it is (no data or train job). */
  path?: string;
}

export interface StudyPlan {
  loaded: LoadedSpec;
  /** Source name → shard directory (absolute; testbed sources live under the study's testbed dir). */
  sources: Map<string, string>;
  /** Directory holding eval/ and testbed.json for the evaluation suite. */
  dataRoot: string;
  buildsTestbed: boolean;
  designs: DesignPlan[];
  models: ModelPlan[];
  jobs: JobDefinition[];
  baseline: string[] | null;
}

/**
 * The most pairs a design at a size can hold without repeating one: for a filtered design, what its filter keeps
 * of the source; otherwise the smallest source's pairs ÷ its share. `pool` gives a source's pairs.
 */
export function designCapacity(design: DesignPlan, pool: (source: string) => number): number {
  if (design.kind === 'filtered') {
    const f = design.filter!;
    const n = pool(f.source);
    return f.fraction !== undefined ? Math.floor(n * f.fraction) : n;
  }
  return Math.floor(Math.min(...Object.entries(design.sources).map(([s, p]) => pool(s) / p)));
}

/** The one-line reason a size's `count` is more than the design's sources hold (never clamped silently). */
export function countTooLarge(design: DesignPlan, size: SizeSpec, capacity: number): string {
  return `count ${size.count} for design "${design.name}" is more than its sources hold (${capacity} pairs${design.kind === 'mixture' ? ' at its proportions' : ''}${design.kind === 'filtered' ? ' kept by its filter' : ''})`;
}

/** Sizes whose count exceeds what existing sources hold (sources the study builds itself are checked when built). */
function checkCounts(designs: DesignPlan[], sources: Map<string, string>, at: (p: string) => string): void {
  for (const d of designs) {
    if (d.kind === 'ensemble' || d.kind === 'reference') continue;
    const names = d.kind === 'filtered' ? [d.filter!.source] : Object.keys(d.sources);
    const sizes = new Map(names.map((s) => [s, dirSampleCount(sources.get(s)!)]));
    if ([...sizes.values()].some((n) => n === null)) continue;
    const cap = designCapacity(d, (s) => sizes.get(s)!);
    for (const size of d.sizes) if (size.count !== undefined && size.count > cap) throw new InputError(at(`sizes(${size.name}).count`), countTooLarge(d, size, cap));
  }
}

const pct = (x: number): string => String(Math.round(x * 100));
export const modelId = (design: string, size: string, seed: number): string => `${design}-${size}-seed${seed}`;
export const dataJobId = (design: string, size: string): string => `data/${design}/${size}`;
export const trainJobId = (model: string): string => `train/${model}`;
export const evalJobId = (model: string): string => `eval/${model}`;
export const TESTBED_JOB = 'testbed';

function hash(value: unknown): string {
  return createHash('sha256').update(JSON.stringify(value)).digest('hex').slice(0, 16);
}

function checkProportions(where: string, p: Record<string, number>): void {
  const entries = Object.entries(p);
  if (entries.length === 0) throw new InputError(where, 'empty proportion list');
  const sum = entries.reduce((a, [, v]) => a + v, 0);
  if (Math.abs(sum - 1) > 1e-6) throw new InputError(where, `proportions sum to ${Number(sum.toFixed(6))}, not 1`);
}

/** Expands the `mixtures` shorthand into designs (pure ends reuse or add the source designs). */
function expandSweeps(loaded: LoadedSpec): DesignSpec[] {
  const designs: DesignSpec[] = [...(loaded.spec.designs ?? [])];
  const sourceDesign = (s: string): string => {
    const found = designs.find((d) => 'source' in d && d.source === s && d.sizes === undefined);
    if (found) return found.name;
    designs.push({ name: s, source: s });
    return s;
  };
  (loaded.spec.mixtures ?? []).forEach((m, i) => {
    const [a, b] = m.sources;
    for (const r of m.ratios) {
      if (r === 1) sourceDesign(a);
      else if (r === 0) sourceDesign(b);
      else {
        const props = { [a]: r, [b]: Number((1 - r).toFixed(6)) };
        const name = `mix-${a}${pct(r)}-${b}${pct(1 - r)}`;
        if (!designs.some((d) => d.name === name)) designs.push({ name, mix: props, ...(m.sizes ? { sizes: m.sizes } : {}) });
        if (m.ensemble) {
          const ename = `ens-${a}${pct(r)}-${b}${pct(1 - r)}`;
          const members = { [sourceDesign(a)]: r, [sourceDesign(b)]: Number((1 - r).toFixed(6)) };
          if (!designs.some((d) => d.name === ename)) designs.push({ name: ename, ensemble: members, ...(m.sizes ? { sizes: m.sizes } : {}) });
        }
      }
    }
    if (m.ratios.some((r) => r > 0 && r < 1) && a === b) throw new InputError(`${loaded.where}: mixtures[${i}]`, 'the two sources are the same');
  });
  return designs;
}

function listSourceDirs(root: string): string[] {
  const dir = join(root, 'sources');
  if (!existsSync(dir)) return [];
  return readdirSync(dir).filter((n) => !n.startsWith('.') && statSync(join(dir, n)).isDirectory());
}

/** Validates the cross-entry rules and expands the spec; `outDir` is the study directory. */
export function planStudy(loaded: LoadedSpec, outDir: string): StudyPlan {
  const { spec } = loaded;
  const { buildsTestbed, dataRoot } = planDataRoot(loaded, outDir);
  const sources = planSources(loaded, dataRoot, buildsTestbed);
  const sizes = sizesByName(loaded);
  const specs = expandSweeps(loaded);
  const names = new Set<string>();
  const designs = specs.map((d, i) => {
    if (names.has(d.name)) throw new InputError(`${loaded.where}: designs[${i}](${d.name})`, `duplicate design name "${d.name}"`);
    names.add(d.name);
    return planDesign(loaded, d, i, sources, sizes);
  });
  linkDesigns(loaded, specs, designs);
  const baseline = planBaseline(loaded, designs, sources);
  checkModelSource(loaded);
  checkCounts(designs, sources, (p) => `${loaded.where}: ${p}`);
  const models: ModelPlan[] = designs.flatMap((d) => d.sizes.flatMap((size) => d.seeds.map((seed) => ({ id: modelId(d.name, size.name, seed), design: d.name, size, seed }))));
  const references = referencePlans(loaded, names);
  designs.push(...references.map((r) => ({ name: r.design, kind: 'reference' as const, sources: {}, sizes: [], seeds: [] })));
  models.push(...references);
  const jobs = jobGraph(loaded, designs, buildsTestbed);
  const root = buildsTestbed ? [TESTBED_JOB] : [];
  for (const r of references) jobs.push({ id: evalJobId(r.id), kind: 'eval', design: r.design, model: r.id, deps: root, fingerprint: hash({ eval: spec.eval ?? {}, reference: r.path, deps: root.map((d) => jobs.find((j) => j.id === d)?.fingerprint) }) });
  return { loaded, sources, dataRoot, buildsTestbed, designs, models, jobs, baseline };
}

/** Where the evaluation data lives: the study's own testbed build, or the spec's `data_root`. */
function planDataRoot(loaded: LoadedSpec, outDir: string): { buildsTestbed: boolean; dataRoot: string } {
  const { spec, where } = loaded;
  if (spec.testbed && spec.data_root) throw new InputError(`${where}: data_root`, 'give testbed or data_root, not both');
  const buildsTestbed = spec.testbed !== undefined;
  const dataRoot = buildsTestbed ? join(outDir, 'testbed') : spec.data_root ? resolveSpecPath(loaded, spec.data_root) : '';
  if (!buildsTestbed && spec.data_root && !existsSync(dataRoot)) throw new InputError(`${where}: data_root`, `${dataRoot} does not exist`);
  if (!dataRoot) throw new InputError(`${where}: (root)`, 'give testbed (build the built-in testbed) or data_root (an evaluation data root)');
  return { buildsTestbed, dataRoot };
}

/** Source name → shard directory: the data root's sources, then the spec's own (which win). */
function planSources(loaded: LoadedSpec, dataRoot: string, buildsTestbed: boolean): Map<string, string> {
  const sources = new Map<string, string>();
  for (const s of buildsTestbed ? [...TRAINING_SOURCES] : listSourceDirs(dataRoot)) sources.set(s, join(dataRoot, 'sources', s));
  for (const [name, p] of Object.entries(loaded.spec.sources ?? {})) {
    const abs = resolveSpecPath(loaded, p);
    if (!existsSync(abs)) throw new InputError(`${loaded.where}: sources.${name}`, `${abs} does not exist`);
    sources.set(name, abs);
  }
  return sources;
}

function sizesByName(loaded: LoadedSpec): Map<string, SizeSpec> {
  const byName = new Map<string, SizeSpec>();
  loaded.spec.sizes.forEach((s, i) => {
    if (byName.has(s.name)) throw new InputError(`${loaded.where}: sizes[${i}](${s.name})`, 'duplicate size name');
    byName.set(s.name, s);
  });
  return byName;
}

/** One design entry on its own (references to other designs are resolved by `linkDesigns`). */
function planDesign(loaded: LoadedSpec, d: DesignSpec, i: number, sources: Map<string, string>, sizeByName: Map<string, SizeSpec>): DesignPlan {
  const { spec, where } = loaded;
  const entry = `${where}: designs[${i}](${d.name})`;
  const knownSource = (path: string, s: string): void => {
    if (!sources.has(s)) throw new InputError(`${entry}.${path}`, `unknown source "${s}" (known: ${[...sources.keys()].join(', ') || 'none'})`);
  };
  const sizes = (d.sizes ?? spec.sizes.map((s) => s.name)).map((n) => {
    const s = sizeByName.get(n);
    if (!s) throw new InputError(`${entry}.sizes`, `unknown size "${n}" (sizes: ${[...sizeByName.keys()].join(', ')})`);
    return s;
  });
  const base = { name: d.name, sizes, seeds: d.seeds ?? spec.seeds ?? [0] };
  if ('source' in d) {
    knownSource('source', d.source);
    return { ...base, kind: 'source', sources: { [d.source]: 1 } };
  }
  if ('mix' in d) {
    if (d.mix === 'all') {
      const all = [...sources.keys()];
      return { ...base, kind: 'mixture', sources: Object.fromEntries(all.map((s) => [s, 1 / all.length])) };
    }
    for (const s of Object.keys(d.mix)) knownSource(`mix.${s}`, s);
    checkProportions(`${entry}.mix`, d.mix);
    return { ...base, kind: 'mixture', sources: Object.fromEntries(Object.entries(d.mix).filter(([, p]) => p > 0)) };
  }
  if ('filter' in d) {
    knownSource('filter.source', d.filter.source);
    // The model is resolved by linkDesigns, once every design is known.
    const filter: FilterPlan = { source: d.filter.source, model: { path: d.filter.model }, threshold: d.filter.threshold, fraction: d.filter.fraction };
    return { ...base, kind: 'filtered', sources: { [d.filter.source]: 1 }, filter };
  }
  checkProportions(`${entry}.ensemble`, d.ensemble);
  return { ...base, kind: 'ensemble', sources: {}, members: Object.fromEntries(Object.entries(d.ensemble).filter(([, w]) => w > 0)) };
}

/** Second pass: filter models and ensemble members name designs of this study (or checkpoints). */
function linkDesigns(loaded: LoadedSpec, specs: DesignSpec[], designs: DesignPlan[]): void {
  const byName = new Map(designs.map((d) => [d.name, d]));
  designs.forEach((d, i) => {
    const entry = `${loaded.where}: designs[${i}](${d.name})`;
    const spec = specs[i]!;
    if (d.kind === 'filtered' && 'filter' in spec) d.filter!.model = filterModel(loaded, entry, spec.filter, d, byName);
    if (d.kind === 'ensemble') {
      for (const m of Object.keys(d.members!)) checkMember(`${entry}.ensemble.${m}`, m, d, byName);
      // For analysis: an ensemble's "sources" are its members' sources weighted.
      const src: Record<string, number> = {};
      for (const [m, w] of Object.entries(d.members!))
        for (const [s, p] of Object.entries(byName.get(m)!.sources)) src[s] = (src[s] ?? 0) + w * p;
      d.sources = src;
    }
  });
}

type FilterSpec = Extract<DesignSpec, { filter: unknown }>['filter'];

/** A filter's model: one model (size, seed) of a trained design of this study, or an existing checkpoint. */
function filterModel(loaded: LoadedSpec, entry: string, f: FilterSpec, d: DesignPlan, byName: Map<string, DesignPlan>): FilterPlan['model'] {
  const target = byName.get(f.model);
  if (target && !looksLikePath(f.model)) {
    if (target.kind === 'ensemble') throw new InputError(`${entry}.filter.model`, `"${f.model}" is an ensemble; a filter model must be a trained design or a checkpoint`);
    if (target === d) throw new InputError(`${entry}.filter.model`, 'a design cannot filter with its own models');
    const size = f.size ? target.sizes.find((s) => s.name === f.size) : target.sizes[target.sizes.length - 1];
    if (!size) throw new InputError(`${entry}.filter.size`, `design "${f.model}" has no size "${f.size}"`);
    const seed = f.seed ?? target.seeds[0]!;
    if (!target.seeds.includes(seed)) throw new InputError(`${entry}.filter.seed`, `design "${f.model}" has no seed ${seed}`);
    return { id: modelId(target.name, size.name, seed), design: target.name };
  }
  const p = resolveSpecPath(loaded, f.model);
  if (!existsSync(p)) throw new InputError(`${entry}.filter.model`, `filter model "${f.model}" is neither a design of this study nor an existing checkpoint`);
  return { path: p };
}

/** An ensemble member is a trained design with every size and seed of the ensemble. */
function checkMember(where: string, m: string, d: DesignPlan, byName: Map<string, DesignPlan>): void {
  const md = byName.get(m);
  if (!md) throw new InputError(where, `unknown design "${m}"`);
  if (md.kind === 'ensemble') throw new InputError(where, 'an ensemble member must be a trained design');
  for (const s of d.sizes) if (!md.sizes.some((x) => x.name === s.name)) throw new InputError(where, `design "${m}" has no size "${s.name}"`);
  for (const seed of d.seeds) if (!md.seeds.includes(seed)) throw new InputError(where, `design "${m}" has no seed ${seed}`);
}

/** The baseline designs: the spec's, or else the mixture of every source (when there are more than two). */
function planBaseline(loaded: LoadedSpec, designs: DesignPlan[], sources: Map<string, string>): string[] | null {
  const b = loaded.spec.analysis?.baseline;
  if (b === undefined) {
    const all = designs.find((d) => d.kind === 'mixture' && Object.keys(d.sources).length === sources.size && sources.size > 2);
    return all ? [all.name] : null;
  }
  const baseline = Array.isArray(b) ? b : [b];
  for (const name of baseline) if (!designs.some((d) => d.name === name)) throw new InputError(`${loaded.where}: analysis.baseline`, `unknown design "${name}"`);
  return baseline;
}

/** A study trains from a model config or fine-tunes from a checkpoint that exists. */
function checkModelSource(loaded: LoadedSpec): void {
  const { spec, where } = loaded;
  if (spec.model === undefined && spec.train?.init === undefined) throw new InputError(`${where}: model`, 'give model (a config) or train.init (a checkpoint to fine-tune)');
  if (spec.train?.init !== undefined && !existsSync(resolveSpecPath(loaded, spec.train.init))) throw new InputError(`${where}: train.init`, `${resolveSpecPath(loaded, spec.train.init)} does not exist`);
}

/** The spec's reference models: one evaluated model each, named like a design (names must not collide). */
function referencePlans(loaded: LoadedSpec, designNames: Set<string>): ModelPlan[] {
  return (loaded.spec.references ?? []).map((r, i) => {
    const where = `${loaded.where}: references[${i}](${r.name})`;
    if (designNames.has(r.name)) throw new InputError(where, `name "${r.name}" is also a design`);
    designNames.add(r.name);
    const path = resolveSpecPath(loaded, r.model);
    if (!existsSync(path)) throw new InputError(where, `model ${path} does not exist`);
    return { id: r.name, design: r.name, size: { name: 'reference', count: 1, samples: 1 }, seed: 0, path };
  });
}

/** The job graph with fingerprints chained through dependencies (a changed input resets everything after it). */
function jobGraph(loaded: LoadedSpec, designs: DesignPlan[], buildsTestbed: boolean): JobDefinition[] {
  const { spec } = loaded;
  const jobs: JobDefinition[] = [];
  const fp = new Map<string, string>();
  const add = (j: Omit<JobDefinition, 'fingerprint'>, own: unknown): void => {
    const fingerprint = hash({ own, deps: j.deps.map((d) => fp.get(d)) });
    fp.set(j.id, fingerprint);
    jobs.push({ ...j, fingerprint });
  };
  if (buildsTestbed) add({ id: TESTBED_JOB, kind: 'testbed', deps: [] }, { testbed: spec.testbed });
  const root = buildsTestbed ? [TESTBED_JOB] : [];
  const byName = new Map(designs.map((d) => [d.name, d]));
  const trainOwn = { model: spec.model, train: spec.train ?? {} };
  const evalOwn = { eval: spec.eval ?? {} };
  const done = new Set<string>();
  // Designs in dependency order: a filtered design after its filter model's design.
  const visit = (d: DesignPlan): void => {
    if (done.has(d.name)) return;
    done.add(d.name);
    if (d.filter && 'id' in d.filter.model) visit(byName.get(d.filter.model.design)!);
    if (d.members) for (const m of Object.keys(d.members)) visit(byName.get(m)!);
    for (const size of d.sizes) {
      if (d.kind !== 'ensemble') {
        const deps = [...root];
        if (d.filter && 'id' in d.filter.model) deps.push(trainJobId(d.filter.model.id));
        add({ id: dataJobId(d.name, size.name), kind: 'data', design: d.name, deps }, { sources: d.sources, filter: d.filter, size: { fraction: size.fraction, count: size.count }, seed: spec.dataset_seed ?? 0 });
      }
      for (const seed of d.seeds) {
        const id = modelId(d.name, size.name, seed);
        if (d.kind === 'ensemble') {
          const members = Object.keys(d.members!).map((m) => trainJobId(modelId(m, size.name, seed)));
          add({ id: evalJobId(id), kind: 'eval', design: d.name, model: id, deps: [...root, ...members] }, { ...evalOwn, members: d.members });
        } else {
          add({ id: trainJobId(id), kind: 'train', design: d.name, model: id, deps: [dataJobId(d.name, size.name)] }, { ...trainOwn, samples: size.samples, epochs: size.epochs, seed });
          add({ id: evalJobId(id), kind: 'eval', design: d.name, model: id, deps: [...root, trainJobId(id)] }, evalOwn);
        }
      }
    }
  };
  for (const d of designs) visit(d);
  return jobs;
}
