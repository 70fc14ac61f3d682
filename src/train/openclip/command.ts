// The exact OpenCLIP command for a cliplab training recipe: every resolved setting mapped to the trainer's
// flags (v2.20's `training.main`, same names in `open_clip_train.main`), launched by plain Python (one
// process), torchrun (several), or srun (inside a Slurm allocation). Pure: builds argv and env, runs nothing.
import { basename, dirname } from 'node:path';
import type { ResolvedParams } from '../options.js';

/** How to launch: the Python, the trainer, the process layout, and the precision. */
export interface LaunchSettings {
  python: string;
  /** A module (`training.main`) or a script path (`…/oc_train.py`, run as is). */
  entry: string;
  nprocPerNode: number;
  nnodes: number;
  nodeRank?: number;
  masterAddr?: string;
  masterPort?: number;
  /** Inside a Slurm job: srun starts the processes (OpenCLIP reads SLURM_PROCID / SLURM_NTASKS). */
  slurm?: { jobId: string; host: string };
  /** gloo on CPUs, nccl on GPUs (only used with several processes). */
  backend: 'gloo' | 'nccl';
  /** OMP_NUM_THREADS per process (torchrun would set 1 per worker otherwise). */
  threads?: number;
  /** The launcher script that registers a model config OpenCLIP does not ship (null: OpenCLIP knows the model). */
  launcher: string | null;
}

/** What the trainer flags are made of, besides the resolved recipe. */
export interface TrainerInputs {
  params: ResolvedParams;
  /** The model name OpenCLIP will look up (its own, or the one the launcher registers). */
  model: string;
  /** Shard files per source (absolute). */
  shards: string[][];
  /** OpenCLIP's --logs and --name: checkpoints land in `<logs>/<name>/checkpoints/epoch_<n>.pt`. */
  logs: string;
  name: string;
  precision: string;
  /** Data loader workers per process (OpenCLIP's default 1). */
  workers?: number;
  /** A torch.save checkpoint to start from (OpenCLIP's --pretrained). */
  pretrained: string | null;
  resume: boolean;
  worldSize: number;
}

/**
 * One source's shards as OpenCLIP's --train-data spec: a brace range when the names are a contiguous run of
 * equal-width numbers in one directory (`dir/{000000..000011}.tar`), else the paths joined by `::`.
 */
export function shardPattern(shards: string[]): string {
  const dir = dirname(shards[0]!);
  const nums = shards.map((s) => /^(\d+)\.tar$/.exec(basename(s))?.[1]);
  const sameDir = shards.every((s) => dirname(s) === dir);
  if (shards.length > 1 && sameDir && nums.every((n) => n !== undefined && n.length === nums[0]!.length)) {
    const v = nums.map(Number);
    const sorted = [...v].sort((a, b) => a - b);
    if (sorted.every((x, i) => x === sorted[0]! + i)) {
      const w = nums[0]!.length;
      return `${dir}/{${String(sorted[0]).padStart(w, '0')}..${String(sorted[sorted.length - 1]).padStart(w, '0')}}.tar`;
    }
  }
  return shards.join('::');
}

const num = (x: number): string => String(x);

/** OpenCLIP trainer flags for the recipe. */
export function trainerArgs(t: TrainerInputs): string[] {
  const p = t.params;
  if (p.batch_size % t.worldSize !== 0)
    throw new Error(`batch size ${p.batch_size} is not a multiple of the ${t.worldSize} processes (OpenCLIP's --batch-size is per process)`);
  const a: string[] = [];
  if (t.shards.length === 1) a.push('--train-data', shardPattern(t.shards[0]!));
  else {
    // Several sources: OpenCLIP samples shards with replacement, each shard weighted; a source's weight over
    // its shard count makes its share of shards (so of samples, for equal-sized shards) its proportion.
    a.push('--train-data', t.shards.map(shardPattern).join('::'), '--dataset-resampled');
    a.push('--train-data-upsampling-factors', factorsPerEntry(t.shards, p.proportions));
  }
  a.push('--train-num-samples', num(p.samples_per_epoch), '--dataset-type', 'webdataset');
  a.push('--model', t.model, '--batch-size', num(p.batch_size / t.worldSize), '--epochs', num(p.epochs));
  a.push('--lr', num(p.lr), '--warmup', num(p.warmup), '--wd', num(p.weight_decay));
  a.push('--beta1', num(p.beta1), '--beta2', num(p.beta2), '--eps', num(p.eps), '--seed', num(p.seed));
  if (p.grad_clip !== null) a.push('--grad-clip-norm', num(p.grad_clip));
  if (p.accum_steps > 1) a.push('--accum-freq', num(p.accum_steps));
  if (p.crop_scale[0] !== 0.9 || p.crop_scale[1] !== 1) a.push('--aug-cfg', `scale=(${p.crop_scale[0]},${p.crop_scale[1]})`);
  if (p.lock_image) a.push('--lock-image');
  if (p.lock_text) a.push('--lock-text');
  if (t.pretrained) a.push('--pretrained', t.pretrained);
  a.push('--precision', t.precision);
  if (t.workers !== undefined) a.push('--workers', num(t.workers));
  a.push('--logs', t.logs, '--name', t.name, '--save-frequency', '1');
  const steps = p.total_steps;
  a.push('--log-every-n-steps', num(Math.max(1, Math.ceil(steps / 100))));
  if (t.resume) a.push('--resume', 'latest');
  return a;
}

/** Upsampling factors, one per `::` entry of the spec `trainerArgs` writes (a brace range counts once). */
function factorsPerEntry(shards: string[][], proportions: number[]): string {
  const out: string[] = [];
  shards.forEach((s, i) => {
    const w = Number((proportions[i]! / s.length).toPrecision(12));
    const entries = shardPattern(s).split('::').length;
    for (let k = 0; k < entries; k++) out.push(num(w));
  });
  return out.join('::');
}

/** The full command line and the environment it adds. */
export function launchCommand(l: LaunchSettings, trainer: string[], backendArgs = true): { argv: string[]; env: Record<string, string> } {
  const world = l.nprocPerNode * l.nnodes;
  const target = [...(l.launcher ? [l.launcher, l.entry] : l.entry.endsWith('.py') ? [l.entry] : ['-m', l.entry])];
  const args = [...trainer, ...(world > 1 && backendArgs ? ['--dist-backend', l.backend] : [])];
  const env: Record<string, string> = {};
  if (l.threads !== undefined) env.OMP_NUM_THREADS = num(l.threads);
  if (l.slurm && world > 1) {
    env.MASTER_ADDR = l.masterAddr ?? l.slurm.host;
    env.MASTER_PORT = num(l.masterPort ?? 20000 + (Number(l.slurm.jobId) % 20000));
    const srun = ['srun', `--ntasks=${world}`, `--ntasks-per-node=${l.nprocPerNode}`, `--nodes=${l.nnodes}`, '--kill-on-bad-exit=1'];
    return { argv: [...srun, l.python, '-u', ...target, ...args], env };
  }
  if (world === 1) return { argv: [l.python, '-u', ...target, ...args], env };
  const rdzv = l.nnodes === 1
    ? ['--standalone']
    : ['--node_rank', num(l.nodeRank ?? 0), '--master_addr', l.masterAddr ?? '127.0.0.1', '--master_port', num(l.masterPort ?? 29500)];
  // --redirects 1 --tee 1: torch 1.13's launcher cannot parse the default "0" on Python 3.11; with them each
  // worker's output is also kept per rank, and the console gets every line as before.
  const torchrun = ['-m', 'torch.distributed.run', '--nproc_per_node', num(l.nprocPerNode), '--nnodes', num(l.nnodes), ...rdzv, '--redirects', '1', '--tee', '1'];
  const mod = target[0] === '-m' ? ['-m', target[1]!] : target;
  return { argv: [l.python, ...torchrun, ...mod, ...args], env };
}
