// `cliplab train --engine openclip`: the same recipe trained by OpenCLIP's own trainer on the same shards.
// Resolve the recipe as cliplab's engine would (same defaults), ask the Python what it has, write the command,
// run it with its output streamed, then import the last epoch's checkpoint into the run directory as
// model.safetensors + config.json + summary.json, so eval, studies and analysis read it unchanged.
import { spawn } from 'node:child_process';
import { appendFileSync, existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { withDirLock } from '../../util/dir-lock.js';
import { CliplabError, InputError } from '../../util/errors.js';
import { writeFileAtomic, writeJsonAtomic } from '../../util/fs.js';
import { matchStateDict, writeCheckpoint } from '../../models/checkpoint.js';
import { configJson, loadModelConfig, type ClipConfig } from '../../models/config.js';
import { loadClipModel, loadStateDict } from '../../models/load.js';
import { toFloat32, type NamedTensor } from '../../models/safetensors.js';
import { writeTorchCheckpoint } from '../../models/torch-write.js';
import { readWeights } from '../../models/weights.js';
import { checkTrainData } from '../data-check.js';
import { checkResumeParams, mergeResumeOptions, resolveParams, upgradeSavedParams, validateOptions, type ResolvedParams, type StepLog, type TrainOptions } from '../options.js';
import { expectedStateDict, NUM_BATCHES } from '../state-dict.js';
import { type LaunchSettings, launchCommand, trainerArgs } from './command.js';
import { probeOpenClip } from './probe.js';

/** Besides TrainOptions' OpenCLIP settings (python, openclipEntry, nprocPerNode, …, precision, dryRun). */
export interface OpenClipHooks {
  /** Set when running inside a Slurm job: processes are started with srun. */
  slurm?: { jobId: string; host: string };
  /** The trainer's output, line by line, as it comes. */
  onLine?: (line: string) => void;
  onStep?: (s: StepLog, totalSteps: number) => void;
}

export interface OpenClipCommand {
  argv: string[];
  env: Record<string, string>;
  /** Files written before the run (the launcher that registers a model config, a converted --init). */
  writes: string[];
}

export interface OpenClipResult {
  run: string;
  command: OpenClipCommand;
  steps: number;
  samples_seen: number;
  final_loss: number | null;
  wall_s: number;
  images_per_s: number;
  /** RUN/model.safetensors (null for a dry run). */
  model: string | null;
}

// Written beside the model configs it registers: OpenCLIP has no flag for a config outside its package. The
// registered configs are cliplab's, often with a text context shorter than 77, which OpenCLIP's trainer before
// v2.23 ignores (its get_tokenizer pads every caption to 77 and the first step dies on a shape mismatch).
const LAUNCHER = `# Written by \`cliplab train --engine openclip\`: registers the model configs in model_configs/ beside
# this file with OpenCLIP (open_clip.add_model_config), then runs the trainer named by the first argument (a
# module such as training.main, or a script path) as __main__ with the remaining arguments.
import functools, os, runpy, sys
import open_clip
import open_clip.factory
open_clip.add_model_config(os.path.join(os.path.dirname(os.path.abspath(__file__)), 'model_configs'))
# OpenCLIP before v2.23 tokenizes to 77 tokens whatever text_cfg.context_length says (its get_tokenizer returns
# the bare tokenize function); v2.23 reads the config. Give an older trainer the newer behaviour. Newer releases
# return a tokenizer object, and models with 77 or an HF tokenizer keep theirs.
_get_tokenizer = open_clip.factory.get_tokenizer
@functools.wraps(_get_tokenizer)
def get_tokenizer(model_name, *args, **kwargs):
    tok = _get_tokenizer(model_name, *args, **kwargs)
    ctx = (open_clip.get_model_config(model_name) or {}).get('text_cfg', {}).get('context_length', 77)
    return functools.partial(open_clip.tokenize, context_length=ctx) if tok is open_clip.tokenize and ctx != 77 else tok
open_clip.factory.get_tokenizer = open_clip.get_tokenizer = get_tokenizer
entry = sys.argv[1]
sys.argv = [entry] + sys.argv[2:]
if entry.endswith('.py'):
    runpy.run_path(entry, run_name='__main__')
else:
    runpy.run_module(entry, run_name='__main__', alter_sys=True)
`;

/** Paths in the run directory (beside cliplab's own run files). */
export function openclipPaths(run: string) {
  const dir = join(run, 'openclip');
  return {
    dir,
    launcher: join(dir, 'launch.py'),
    configs: join(dir, 'model_configs'),
    init: join(dir, 'init.pt'),
    logs: dir,
    name: 'train',
    checkpoint: (epoch: number) => join(dir, 'train', 'checkpoints', `epoch_${epoch}.pt`),
    command: join(dir, 'command.json'),
    params: join(run, 'params.json'),
    config: join(run, 'config.json'),
    model: join(run, 'model.safetensors'),
    summary: join(run, 'summary.json'),
    log: join(run, 'log.jsonl'),
  };
}

export async function trainOpenClip(options: TrainOptions, oc: OpenClipHooks = {}): Promise<OpenClipResult> {
  validateOptions(options);
  if (options.dryRun) return prepare(options, oc, false).then((p) => ({ run: p.run, command: p.command, steps: 0, samples_seen: 0, final_loss: null, wall_s: 0, images_per_s: 0, model: null }));
  return withDirLock(options.out, 'train', async () => {
    const p = await prepare(options, oc, true);
    return runAndImport(p, oc);
  });
}

interface Prepared {
  run: string;
  cfg: ClipConfig;
  params: ResolvedParams & Record<string, unknown>;
  command: OpenClipCommand;
  t0: number;
}

/** Everything up to the command: recipe, data, the Python's OpenCLIP, the launcher and init (written when `write`). */
async function prepare(options: TrainOptions, oc: OpenClipHooks, write: boolean): Promise<Prepared> {
  const t0 = performance.now();
  const run = resolve(options.out);
  const P = openclipPaths(run);
  let o = options;
  let saved: (ResolvedParams & { engine?: string }) | null = null;
  if (o.resume && existsSync(P.params)) {
    saved = upgradeSavedParams(JSON.parse(readFileSync(P.params, 'utf8')) as ResolvedParams) as ResolvedParams & { engine?: string };
    if (saved.engine !== 'openclip') throw new InputError(run, '--resume: this run was trained by cliplab\'s own engine; resume it without --engine openclip');
    o = mergeResumeOptions({ ...o, model: o.model ?? P.config }, saved);
    const s = saved as Record<string, unknown>;
    o = {
      ...o,
      python: o.python ?? (s.python as string | undefined),
      openclipEntry: o.openclipEntry ?? (s.entry as string | undefined),
      precision: o.precision ?? (s.precision as TrainOptions['precision']),
      nprocPerNode: o.nprocPerNode ?? (s.nproc_per_node as number | undefined),
      nnodes: o.nnodes ?? (s.nnodes as number | undefined),
    };
  }
  if (!o.resume && (existsSync(P.model) || existsSync(join(P.dir, P.name))))
    throw new InputError(run, 'already holds a training run; pass --resume to continue it, or choose a new --out');
  if (o.alpha !== undefined && o.alpha !== 'drop')
    throw new InputError('--alpha', `${o.alpha}: OpenCLIP's trainer drops alpha (its loader's convert('RGB')); flattening needs --engine cliplab`);
  if (!o.data) throw new InputError('--data', 'required: one or more shard directories');
  if (!o.model && !o.init) throw new InputError('--model', 'required: a config name (e.g. ViT-Tiny-8-64) or a JSON file');
  const cfg = o.model ? loadModelConfig(o.model) : (await loadClipModel(o.init!)).config;
  const modelName = o.model ?? 'init';
  const sources = await checkTrainData(o.data, cfg.vision_cfg.image_size);
  const base = resolveParams(o, cfg, modelName, sources.map((s) => s.size));
  if (base.batch_size > base.dataset_size)
    throw new InputError('--batch-size', `${base.batch_size} is larger than the dataset (${base.dataset_size} samples in ${o.data.join(', ')})`);
  if (saved) checkResumeParams(base, saved, P.params);

  const env = await probeOpenClip(o.python ?? 'python3');
  const entry = o.openclipEntry ?? env.trainer;
  if (!entry)
    throw new InputError('--engine openclip', `${env.python} has open_clip ${env.openClip} but no trainer module (open_clip_train.main or training.main); install OpenCLIP's training code or pass --openclip-entry`);
  const nproc = o.nprocPerNode ?? 1;
  const nnodes = o.nnodes ?? 1;
  const world = nproc * nnodes;
  if (base.batch_size % world !== 0)
    throw new InputError('--batch-size', `${base.batch_size} is not a multiple of ${world} processes (OpenCLIP's batch size is per process)`);
  const workers = o.workers;
  if (sources.length === 1 && sources[0]!.shards.length < Math.max(1, workers ?? 1) * world)
    throw new InputError(o.data[0]!, `${sources[0]!.shards.length} shard(s) for ${world} process(es) × ${Math.max(1, workers ?? 1)} loader worker(s): OpenCLIP needs at least one shard each`);

  // A model OpenCLIP does not ship (a cliplab config or a JSON file) is registered by the launcher script.
  const known = typeof o.model === 'string' && !o.model.endsWith('.json') && !o.model.includes('/') && env.models.includes(o.model);
  const ocModel = known ? o.model! : (o.model ?? 'init').replace(/^.*\//, '').replace(/\.json$/, '');
  const writes: string[] = [];
  if (!known) writes.push(P.launcher, join(P.configs, `${ocModel}.json`));
  let pretrained: string | null = null;
  if (base.init && !(o.resume && existsSync(join(P.dir, P.name)))) {
    pretrained = P.init;
    writes.push(P.init);
  }
  const precision = o.precision ?? 'amp';
  const trainer = trainerArgs({
    params: base, model: ocModel, shards: sources.map((s) => s.shards.map((f) => resolve(f))), logs: P.logs, name: P.name, precision, workers,
    pretrained, resume: o.resume === true && existsSync(join(P.dir, P.name)), worldSize: world,
  });
  const launch: LaunchSettings = {
    python: env.python, entry, nprocPerNode: nproc, nnodes, nodeRank: o.nodeRank, masterAddr: o.masterAddr, masterPort: o.masterPort,
    slurm: oc.slurm, backend: env.cuda ? 'nccl' : 'gloo', threads: o.threads, launcher: known ? null : P.launcher,
  };
  const command = { ...launchCommand(launch, trainer), writes };
  const params = {
    ...base, engine: 'openclip', precision, nproc_per_node: nproc, nnodes, python: env.python, entry, torch: env.torch, open_clip: env.openClip, cuda: env.cuda,
  };
  if (write) {
    mkdirSync(P.dir, { recursive: true });
    if (!known) {
      await writeFileAtomic(P.launcher, LAUNCHER);
      await writeJsonAtomic(join(P.configs, `${ocModel}.json`), configJson(cfg));
    }
    if (pretrained) {
      const { tensors } = await loadStateDict(base.init!, o.model);
      await writeTorchCheckpoint(P.init, tensors, { name: 'cliplab-init' });
    }
    await writeJsonAtomic(P.config, configJson(cfg));
    await writeJsonAtomic(P.params, params);
    await writeJsonAtomic(P.command, command);
    if (!o.resume) rmSync(P.log, { force: true });
  }
  return { run, cfg, params, command, t0 };
}

const LINE = /Train Epoch: (\d+) \[\s*(\d+)\/(\d+) \((\d+)%\)\].*?Batch \(t\): [\d.]+, ([\d.eE+-]+)\/s.*?LR: ([\d.eE+-]+) Logit Scale: ([\d.]+).*?(?:^|\s)Loss: ([\d.eE+-]+)/;

/** One progress line of OpenCLIP's trainer as a log.jsonl entry (null for other lines). */
export function parseTrainLine(line: string, stepsPerEpoch: number, batch: number): StepLog | null {
  const m = LINE.exec(line);
  if (!m) return null;
  const epoch = Number(m[1]);
  const inEpoch = Math.round(Number(m[2]) / batch);
  return {
    step: epoch * stepsPerEpoch + inEpoch,
    epoch: epoch + 1,
    samples_seen: epoch * stepsPerEpoch * batch + Number(m[2]),
    loss: Number(m[8]),
    lr: Number(m[6]),
    logit_scale: Number(m[7]),
    images_per_s: Number(m[5]),
    data_wait_ms: 0,
  };
}

async function runAndImport(p: Prepared, oc: OpenClipHooks): Promise<OpenClipResult> {
  const P = openclipPaths(p.run);
  const { argv, env } = p.command;
  const prm = p.params;
  const batch = prm.batch_size;
  let last: StepLog | null = null;
  let tail: string[] = [];
  const code = await new Promise<number | null>((resolveExit, reject) => {
    const child = spawn(argv[0]!, argv.slice(1), { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    child.once('error', (e) => reject(new InputError(argv[0]!, `cannot start: ${e.message}`)));
    const onLine = (line: string): void => {
      tail = [...tail.slice(-19), line];
      oc.onLine?.(line);
      const s = parseTrainLine(line, prm.steps_per_epoch, batch);
      if (s) {
        last = s;
        appendFileSync(P.log, JSON.stringify(s) + '\n');
        oc.onStep?.(s, prm.total_steps);
      }
    };
    createInterface({ input: child.stdout! }).on('line', onLine);
    createInterface({ input: child.stderr! }).on('line', onLine);
    child.once('exit', (c) => resolveExit(c));
  });
  if (code !== 0) {
    const why = [...tail].reverse().find((l) => /Error|error|Exception/.test(l)) ?? tail[tail.length - 1] ?? '';
    throw new CliplabError(`OpenCLIP's trainer exited with ${code === null ? 'a signal' : `code ${code}`}: ${why.trim()} (command: ${P.command})`);
  }
  const model = await importCheckpoint(P.checkpoint(prm.epochs), p.cfg, P.model, String(prm.model));
  const wall = (performance.now() - p.t0) / 1000;
  const samples = prm.epochs * prm.samples_per_epoch;
  const l = last as StepLog | null;
  const result: OpenClipResult = {
    run: p.run,
    command: p.command,
    steps: prm.total_steps,
    samples_seen: samples,
    final_loss: l?.loss ?? null,
    wall_s: Math.round(wall * 100) / 100,
    images_per_s: l?.images_per_s ?? Math.round((samples / wall) * 100) / 100,
    model,
  };
  await writeJsonAtomic(P.summary, {
    ...result, stopped: false, engine: 'openclip', data: prm.data, proportions: prm.proportions, seed: prm.seed, model_config: prm.model,
  });
  return result;
}

/** OpenCLIP's checkpoint → RUN/model.safetensors (float32, OpenCLIP names, `module.` stripped) + config.json. */
export async function importCheckpoint(file: string, cfg: ClipConfig, out: string, modelName: string): Promise<string> {
  if (!existsSync(file)) throw new CliplabError(`${file}: OpenCLIP's trainer finished without this checkpoint`);
  const { tensors } = await readWeights(file);
  const matched = matchStateDict(file, tensors, expectedStateDict(cfg).shapes, { allowMissing: (n) => n.endsWith(NUM_BATCHES) });
  const named = new Map<string, NamedTensor>();
  for (const [name, t] of matched) named.set(name, t.dtype === 'I64' ? t : toFloat32(t));
  return writeCheckpoint(out, named, cfg, { format: 'pt', producer: "OpenCLIP's trainer via cliplab train --engine openclip", model: modelName, source: file });
}

