// What each job kind runs and how its outputs are committed: the cliplab command of a testbed, data, train or
// eval job, the check that finds its outputs already complete, and the commit (temp dir → final dir).
import { existsSync, mkdirSync, readFileSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import type { DesignInfo } from '../eval/result.js';
import { dirSampleCount } from '../data/shards/list.js';
import { CliplabError } from '../util/errors.js';
import type { ExecRequest } from './executor.js';
import { type DesignPlan, type ModelPlan, type StudyPlan, TESTBED_JOB, countTooLarge, designCapacity, modelId } from './plan.js';
import { resolveSpecPath } from './spec.js';
import type { JobRecord } from './store.js';

export interface StudyLayout {
  out: string;
  testbed: string;
  data: (design: string, size: string) => string;
  run: (model: string) => string;
  evalDir: (model: string) => string;
  results: string;
  resultsFull: string;
  logs: string;
}

export function studyLayout(out: string): StudyLayout {
  return {
    out,
    testbed: join(out, 'testbed'),
    data: (design, size) => join(out, 'data', design, size),
    run: (model) => join(out, 'runs', model),
    evalDir: (model) => join(out, 'evals', model),
    results: join(out, 'results'),
    resultsFull: join(out, 'results-full'),
    logs: join(out, 'logs'),
  };
}

/** The temp dir a job writes into before its outputs are committed by rename. */
export const tempOf = (dir: string): string => join(dir, '..', `.${dir.split('/').pop()}.tmp`);

export interface JobContext {
  plan: StudyPlan;
  layout: StudyLayout;
  /** Intra-op threads per job. */
  threads?: number;
}

export class JobError extends CliplabError {
  override name = 'JobError';
}

const readJson = <T>(p: string): T => JSON.parse(readFileSync(p, 'utf8')) as T;
const logFile = (ctx: JobContext, job: JobRecord): string => join(ctx.layout.logs, `${job.id.replace(/\//g, '__')}.log`);

function designOf(ctx: JobContext, name: string): DesignPlan {
  return ctx.plan.designs.find((d) => d.name === name)!;
}

function modelOf(ctx: JobContext, id: string): ModelPlan {
  return ctx.plan.models.find((m) => m.id === id)!;
}

/** Sample count of a shard directory from its sizes.json or its shards' img2dataset `_stats.json`. */
export function shardDirSize(dir: string): number {
  const n = dirSampleCount(dir);
  if (n === null) throw new JobError(`${dir}: no sizes.json or <shard>_stats.json files (not a shard directory written by cliplab or img2dataset?)`);
  return n;
}

// ---------------------------------------------------------------------------------------------- testbed

function testbedArgs(ctx: JobContext): string[] {
  const t = ctx.plan.loaded.spec.testbed ?? {};
  const a = ['testbed', 'build', '--out', ctx.layout.testbed];
  const flag = (f: string, v: number | undefined): void => {
    if (v !== undefined) a.push(f, String(v));
  };
  flag('--concepts', t.concepts);
  flag('--image-size', t.image_size);
  flag('--misaligned', t.misaligned);
  flag('--views', t.views);
  flag('--eval-views', t.eval_views);
  flag('--eval-views-full', t.eval_views_full);
  flag('--seed', t.seed);
  flag('--corruption-severity', t.corruption_severity);
  return a;
}

/** The testbed counts as built when its manifest exists and records the spec's arguments. */
function testbedComplete(ctx: JobContext): Record<string, unknown> | null {
  const p = join(ctx.layout.testbed, 'testbed.json');
  if (!existsSync(p)) return null;
  const args = readJson<{ args: Record<string, unknown> }>(p).args;
  const t = ctx.plan.loaded.spec.testbed ?? {};
  const want: Record<string, unknown> = {
    imageSize: t.image_size,
    misaligned: t.misaligned,
    views: t.views,
    evalViews: t.eval_views,
    evalViewsFull: t.eval_views_full,
    seed: t.seed,
  };
  for (const [k, v] of Object.entries(want)) if (v !== undefined && args[k] !== v) return null;
  // Knobs whose absence means "none" (all concepts, no corrupted shift): absent must match absent.
  const orNone: Record<string, unknown> = { concepts: t.concepts, corruptionSeverity: t.corruption_severity };
  for (const [k, v] of Object.entries(orNone)) if ((v ?? null) !== (args[k] ?? null)) return null;
  return { dir: ctx.layout.testbed };
}

// ---------------------------------------------------------------------------------------------- data

/** The `cliplab dataset build` spec of one design at one size (counts resolved from the built sources). */
export function datasetSpecFor(ctx: JobContext, design: DesignPlan, sizeName: string, specDir: string): Record<string, unknown> {
  // Paths relative to the spec file's directory (how `dataset build` resolves them).
  const rel = (p: string): string => relative(specDir, p) || '.';
  const size = design.sizes.find((s) => s.name === sizeName)!;
  const seed = ctx.plan.loaded.spec.dataset_seed ?? 0;
  const entries = Object.entries(design.sources);
  const poolOf = new Map<string, number>();
  const pool = (s: string): number => poolOf.get(s) ?? poolOf.set(s, shardDirSize(ctx.plan.sources.get(s)!)).get(s)!;
  const capacity = designCapacity(design, pool);
  if (size.count !== undefined && size.count > capacity) throw new JobError(countTooLarge(design, size, capacity));
  const spec: Record<string, unknown> = { name: `${design.name}-${sizeName}`.replace(/[^A-Za-z0-9_-]/g, '_'), seed };
  const total = size.count ?? Math.max(1, Math.round(capacity * size.fraction!));
  if (design.kind === 'filtered') {
    const f = design.filter!;
    const checkpoint = 'id' in f.model ? ctx.layout.run(f.model.id) : f.model.path;
    spec.sources = [{ name: f.source, path: rel(ctx.plan.sources.get(f.source)!), ...(size.fraction === 1 && size.count === undefined ? {} : { count: total }) }];
    spec.filters = { clipScore: { checkpoint: rel(checkpoint), ...(f.threshold !== undefined ? { threshold: f.threshold } : { topFraction: f.fraction }) } };
    return spec;
  }
  if (entries.length === 1) {
    spec.sources = [{ name: entries[0]![0], path: rel(ctx.plan.sources.get(entries[0]![0])!), count: total }];
  } else {
    spec.total = total;
    spec.sources = entries.map(([s, p]) => ({ name: s, path: rel(ctx.plan.sources.get(s)!), proportion: p }));
  }
  return spec;
}

// ---------------------------------------------------------------------------------------------- train

function modelArg(ctx: JobContext): string {
  const m = ctx.plan.loaded.spec.model;
  if (typeof m === 'string') return m.endsWith('.json') ? resolveSpecPath(ctx.plan.loaded, m) : m;
  const p = join(ctx.layout.out, 'model-config.json');
  if (!existsSync(p) || readFileSync(p, 'utf8') !== JSON.stringify(m, null, 2) + '\n') writeFileSync(p, JSON.stringify(m, null, 2) + '\n');
  return p;
}

function trainArgs(ctx: JobContext, model: ModelPlan, tmp: string): string[] {
  const t = ctx.plan.loaded.spec.train ?? {};
  const a = ['train', '--data', ctx.layout.data(model.design, model.size.name), ...(ctx.plan.loaded.spec.model !== undefined ? ['--model', modelArg(ctx)] : []), '--out', tmp, '--seed', String(model.seed)];
  // Fine-tuning every design from one checkpoint (optionally with a tower frozen).
  if (t.init !== undefined) a.push('--init', resolveSpecPath(ctx.plan.loaded, t.init));
  if (t.lock_image) a.push('--lock-image');
  if (t.lock_text) a.push('--lock-text');
  if (model.size.samples !== undefined) a.push('--samples', String(model.size.samples));
  else a.push('--epochs', String(model.size.epochs));
  if (t.batch_size !== undefined) a.push('--batch-size', String(t.batch_size));
  if (t.lr !== undefined) a.push('--lr', String(t.lr));
  const threads = t.threads ?? ctx.threads;
  if (threads !== undefined) a.push('--threads', String(threads));
  if (t.engine === 'openclip') {
    a.push('--engine', 'openclip');
    const flag = (f: string, v: string | number | undefined): void => void (v !== undefined && a.push(f, String(v)));
    flag('--nproc-per-node', t.nproc_per_node);
    flag('--nnodes', t.nnodes);
    flag('--precision', t.precision);
    flag('--python', t.python);
    flag('--openclip-entry', t.openclip_entry);
    // OpenCLIP's trainer resumes from its own epoch checkpoints.
    if (existsSync(join(tmp, 'openclip', 'train', 'checkpoints'))) a.push('--resume');
  } else if (existsSync(join(tmp, 'checkpoints', 'latest.safetensors'))) a.push('--resume');
  a.push(...(t.extra_args ?? []));
  return a;
}

// ---------------------------------------------------------------------------------------------- eval

function evalArgs(ctx: JobContext, model: ModelPlan, tmp: string): string[] {
  const d = designOf(ctx, model.design);
  const e = ctx.plan.loaded.spec.eval ?? {};
  const a = ['eval'];
  if (d.kind === 'ensemble') {
    const members = Object.entries(d.members!).map(([m, w]) => `${ctx.layout.run(modelId(m, model.size.name, model.seed))}:${w}`);
    a.push('--ensemble', members.join(','));
  } else a.push('--model', model.path ?? ctx.layout.run(model.id));
  a.push('--suite', e.suite ?? 'testbed', '--data-root', ctx.plan.dataRoot, '--out', tmp + '/', '--design', model.design, '--model-id', model.id);
  if (e.full !== false) a.push('--full');
  if (e.templates !== undefined) a.push('--templates', e.templates);
  if (e.batch_size !== undefined) a.push('--batch-size', String(e.batch_size));
  const threads = ctx.plan.loaded.spec.train?.threads ?? ctx.threads;
  if (threads !== undefined) a.push('--threads', String(threads));
  return a;
}

/** The design_info a result of this model carries (kind, proportions, size, filter, ensemble members). */
export function designInfoFor(ctx: JobContext, model: ModelPlan): DesignInfo {
  const d = designOf(ctx, model.design);
  const builtSize = (design: string): number | undefined => {
    const p = join(ctx.layout.data(design, model.size.name), 'manifest.json');
    if (!existsSync(p)) return undefined;
    const m = readJson<Record<string, unknown>>(p);
    const n = m.total ?? m.samples ?? m.count ?? m.size;
    return typeof n === 'number' && n > 0 ? n : undefined;
  };
  const info: DesignInfo = { kind: d.kind, sources: d.sources };
  if (d.kind === 'ensemble') {
    const sizes = Object.keys(d.members!).map(builtSize).filter((n): n is number => n !== undefined);
    if (sizes.length) info.size = Math.round(sizes.reduce((a, b) => a + b, 0) / sizes.length);
    info.members = Object.entries(d.members!).map(([m, w]) => ({ model: modelId(m, model.size.name, model.seed), design: m, weight: w }));
  } else {
    const n = builtSize(d.name);
    if (n !== undefined) info.size = n;
  }
  if (d.filter) {
    const f = d.filter;
    info.filter = {
      method: 'clip-score',
      ...(f.threshold !== undefined ? { threshold: f.threshold } : {}),
      ...(f.fraction !== undefined ? { fraction: f.fraction } : {}),
      model: 'id' in f.model ? f.model.id : f.model.path,
    };
  }
  return info;
}

const FULL = '-full';
const resultFile = (dir: string, model: string, dataset: string): string => join(dir, `${model}__${dataset}.json`);

/** Copies eval's results into results/ (class-subset sets) and results-full/ with the study's model id and design. */
function commitResults(ctx: JobContext, model: ModelPlan, evalDir: string): string[] {
  const files = readdirSync(evalDir).filter((f) => f.endsWith('.json'));
  const written: string[] = [];
  const info = designInfoFor(ctx, model);
  for (const f of files) {
    const r = readJson<Record<string, unknown>>(join(evalDir, f));
    if (typeof r.dataset !== 'string' || typeof r.metrics !== 'object') continue;
    const patched: Record<string, unknown> = { ...r, model: model.id, design: model.design, design_info: info, seed: model.seed };
    if (typeof patched.samples_seen !== 'number') patched.samples_seen = model.size.samples ?? 0;
    const dir = r.dataset.endsWith(FULL) ? ctx.layout.resultsFull : ctx.layout.results;
    mkdirSync(dir, { recursive: true });
    const target = resultFile(dir, model.id, r.dataset);
    writeFileSync(target + '.tmp', JSON.stringify(patched, null, 2) + '\n');
    renameSync(target + '.tmp', target);
    written.push(target);
  }
  if (written.length === 0) throw new JobError(`${evalDir}: eval wrote no result files`);
  return written;
}

// ---------------------------------------------------------------------------------------------- dispatch

/** What the runner needs for one job: its command, and how to tell (and make) its outputs complete. */
export interface JobWork {
  /** Where the job's output goes (logs/<job>.log). */
  log: string;
  /** Outputs already complete on disk (a crash after commit, or a testbed reused): adopt without running. */
  complete(): Record<string, unknown> | null;
  /** The command; called when the job's dependencies are done (so it may read their outputs). */
  request(): ExecRequest;
  /** After a zero exit: move outputs into place; returns what to record. Throws when they are incomplete. */
  commit(): Record<string, unknown>;
  /** Removes outputs (the job's inputs changed). */
  discard(): void;
}

export function jobWork(ctx: JobContext, job: JobRecord): JobWork {
  const { layout } = ctx;
  const log = logFile(ctx, job);
  if (job.id === TESTBED_JOB) {
    return {
      log,
      complete: () => testbedComplete(ctx),
      request: () => ({ jobId: job.id, kind: job.kind, args: testbedArgs(ctx), logFile: log }),
      commit: () => {
        const c = testbedComplete(ctx);
        if (!c) throw new JobError(`${layout.testbed}: testbed build finished without a matching testbed.json`);
        return c;
      },
      discard: () => rmSync(join(layout.testbed, 'testbed.json'), { force: true }),
    };
  }
  if (job.kind === 'data') {
    const [, design, size] = job.id.split('/') as [string, string, string];
    const dir = layout.data(design, size);
    const tmp = tempOf(dir);
    const marker = (d: string): boolean => existsSync(join(d, 'manifest.json'));
    return {
      log,
      complete: () => (marker(dir) ? { dir } : null),
      request: () => {
        rmSync(tmp, { recursive: true, force: true });
        const specFile = join(layout.out, 'data', design, `${size}.spec.json`);
        mkdirSync(join(layout.out, 'data', design), { recursive: true });
        writeFileSync(specFile, JSON.stringify(datasetSpecFor(ctx, designOf(ctx, design), size, dirname(specFile)), null, 2) + '\n');
        return { jobId: job.id, kind: job.kind, args: ['dataset', 'build', specFile, '--out', tmp], logFile: log };
      },
      commit: () => {
        if (!marker(tmp)) throw new JobError(`${tmp}: dataset build finished without manifest.json`);
        rmSync(dir, { recursive: true, force: true });
        renameSync(tmp, dir);
        return { dir };
      },
      discard: () => {
        rmSync(dir, { recursive: true, force: true });
        rmSync(tmp, { recursive: true, force: true });
      },
    };
  }
  const model = modelOf(ctx, job.model!);
  if (job.kind === 'train') {
    const dir = layout.run(model.id);
    const tmp = tempOf(dir);
    const marker = (d: string): boolean => existsSync(join(d, 'summary.json')) && existsSync(join(d, 'model.safetensors'));
    return {
      log,
      complete: () => (marker(dir) ? { dir } : null),
      request: () => ({ jobId: job.id, kind: job.kind, args: trainArgs(ctx, model, tmp), logFile: log }),
      commit: () => {
        if (!marker(tmp)) throw new JobError(`${tmp}: training finished without summary.json and model.safetensors`);
        rmSync(dir, { recursive: true, force: true });
        renameSync(tmp, dir);
        return { dir, summary: readJson<Record<string, unknown>>(join(dir, 'summary.json')) };
      },
      discard: () => {
        rmSync(dir, { recursive: true, force: true });
        rmSync(tmp, { recursive: true, force: true });
      },
    };
  }
  const dir = layout.evalDir(model.id);
  const tmp = tempOf(dir);
  const committed = (): string[] | null => {
    if (!existsSync(dir)) return null;
    const want = readdirSync(dir).filter((f) => f.endsWith('.json'));
    const files = want.map((f) => readJson<{ dataset?: string }>(join(dir, f)).dataset).filter((d): d is string => typeof d === 'string');
    const paths = files.map((ds) => resultFile(ds.endsWith(FULL) ? layout.resultsFull : layout.results, model.id, ds));
    return paths.length > 0 && paths.every((p) => existsSync(p)) ? paths : null;
  };
  return {
    log,
    complete: () => {
      const files = committed();
      return files ? { dir, results: files } : null;
    },
    request: () => {
      rmSync(tmp, { recursive: true, force: true });
      mkdirSync(tmp, { recursive: true });
      return { jobId: job.id, kind: job.kind, args: evalArgs(ctx, model, tmp), logFile: log };
    },
    commit: () => {
      const results = commitResults(ctx, model, tmp);
      rmSync(dir, { recursive: true, force: true });
      renameSync(tmp, dir);
      return { dir, results };
    },
    discard: () => {
      for (const d of [layout.results, layout.resultsFull])
        if (existsSync(d)) for (const f of readdirSync(d)) if (f.startsWith(`${model.id}__`)) rmSync(join(d, f), { force: true });
      rmSync(dir, { recursive: true, force: true });
      rmSync(tmp, { recursive: true, force: true });
    },
  };
}
