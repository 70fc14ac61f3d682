// Checkpoints: an OpenCLIP `state_dict` as safetensors (or a torch.save `.pt`) plus `config.json` (the OpenCLIP
// model config) beside it, and `matchStateDict`, which checks a loaded state dict against a model's names and shapes.
import { existsSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { InputError } from '../util/errors.js';
import { findNonFinite, findNonFiniteHalf, formatNonFinite, type NonFinite } from '../util/finite.js';
import { writeJsonAtomic } from '../util/fs.js';
import { configJson, loadModelConfig, parseModelConfig, type ClipConfig } from './config.js';
import { writeSafetensors, type NamedTensor } from './safetensors.js';
import { writeTorchCheckpoint } from './torch-write.js';
import { readWeights } from './weights.js';

/** File name of the weights when a checkpoint is given as a directory. */
export const CHECKPOINT_FILE = 'model.safetensors';
export const CONFIG_FILE = 'config.json';

const LIST_MAX = 10;

function listNames(names: string[]): string {
  const shown = names.slice(0, LIST_MAX).join(', ');
  return names.length > LIST_MAX ? `${shown}, … (${names.length} in all)` : shown;
}

export interface MatchOptions {
  /** Expected names that may be absent (e.g. buffers the model recomputes). */
  allowMissing?: (name: string) => boolean;
}

/**
 * Check `tensors` (read from `file`) against `expected` (name → shape): strips a DataParallel `module.` prefix,
 * then rejects unknown names, missing names and shape mismatches with errors that name the file and the keys.
 * Returns the tensors under their stripped names, in `expected`'s order.
 */
export function matchStateDict(
  file: string,
  tensors: Map<string, NamedTensor>,
  expected: Map<string, number[]>,
  opts: MatchOptions = {},
): Map<string, NamedTensor> {
  const stripped = new Map<string, NamedTensor>();
  for (const [name, t] of tensors) {
    const bare = name.startsWith('module.') ? name.slice('module.'.length) : name;
    if (stripped.has(bare)) throw new InputError(file, `key '${bare}' appears twice (with and without 'module.')`);
    stripped.set(bare, t);
  }
  const unknown = [...stripped.keys()].filter((k) => !expected.has(k));
  if (unknown.length) {
    throw new InputError(file, `${unknown.length} unexpected key(s) not in the model: ${listNames(unknown)}`);
  }
  const missing = [...expected.keys()].filter((k) => !stripped.has(k) && !opts.allowMissing?.(k));
  if (missing.length) {
    throw new InputError(file, `${missing.length} key(s) missing from the checkpoint: ${listNames(missing)}`);
  }
  const out = new Map<string, NamedTensor>();
  for (const [name, shape] of expected) {
    const t = stripped.get(name);
    if (!t) continue;
    if (t.shape.length !== shape.length || t.shape.some((d, i) => d !== shape[i])) {
      throw new InputError(file, `key '${name}': shape [${t.shape.join(', ')}] in the checkpoint, the model expects [${shape.join(', ')}]`);
    }
    checkTensorValues(file, name, t);
    out.set(name, t);
  }
  return out;
}

const FLOAT_DTYPES = new Set(['F32', 'F64', 'F16', 'BF16']);
const INT_DTYPES = new Set(['I64', 'I32', 'U8']);

/**
 * A model tensor must have the kind of dtype its name calls for (a float tensor relabelled I32 has the same
 * size and would be read as integers) and, if float, hold only finite values (a NaN weight makes every logit
 * NaN, and NaN logits score as correct).
 */
export function checkTensorValues(file: string, name: string, t: NamedTensor): void {
  const wantInt = name.endsWith('.num_batches_tracked');
  if (wantInt ? !INT_DTYPES.has(t.dtype) : !FLOAT_DTYPES.has(t.dtype))
    throw new InputError(file, `tensor '${name}' has dtype ${t.dtype}; a${wantInt ? 'n integer' : ' floating-point'} tensor is expected here`);
  if (wantInt) return;
  let bad: NonFinite | null;
  if (t.dtype === 'F16' || t.dtype === 'BF16') bad = findNonFiniteHalf(t.data as Uint16Array, t.dtype === 'BF16');
  else if (t.dtype === 'F64') bad = findNonFinite(Float32Array.from(t.data as Float64Array)); // beyond float32's range is infinite too
  else bad = findNonFinite(t.data as Float32Array);
  if (bad) throw new InputError(file, `tensor '${name}' holds ${formatNonFinite(bad)}: the weights are broken (refusing to evaluate, export or train from them)`);
}

/** The weights file of a checkpoint given as a file or a directory. */
export function checkpointFile(pathOrDir: string): string {
  return existsSync(pathOrDir) && statSync(pathOrDir).isDirectory() ? join(pathOrDir, CHECKPOINT_FILE) : pathOrDir;
}

export interface Checkpoint {
  /** The weights file read (safetensors or torch.save). */
  file: string;
  tensors: Map<string, NamedTensor>;
  metadata: Record<string, string>;
  /** `config.json` beside the weights, validated; null when there is none. */
  config: ClipConfig | null;
}

/** Read a checkpoint: `model.safetensors` in a directory, or a `.safetensors[.gz]`/`.pt` file, plus its `config.json`. */
export async function readCheckpoint(pathOrDir: string): Promise<Checkpoint> {
  const file = checkpointFile(pathOrDir);
  const { tensors, metadata } = await readWeights(file);
  const configPath = join(dirname(file), CONFIG_FILE);
  const config = existsSync(configPath) ? loadModelConfig(configPath) : null;
  return { file, tensors, metadata, config };
}

/**
 * Write `tensors` (atomically) and `config` as `config.json` in the same directory. `pathOrDir` is a
 * `.safetensors` path, a `.pt` path (a torch.save file OpenCLIP's load_checkpoint reads; `metadata.epoch` and
 * `metadata.name` go into it) or a directory (then `model.safetensors` inside it). Returns the weights path.
 */
export async function writeCheckpoint(
  pathOrDir: string,
  tensors: Map<string, NamedTensor> | Record<string, NamedTensor>,
  config: ClipConfig,
  metadata?: Record<string, string>,
): Promise<string> {
  parseModelConfig(config, `config for ${pathOrDir}`);
  const file = /\.(safetensors(\.gz)?|pt)$/.test(pathOrDir) ? pathOrDir : join(pathOrDir, CHECKPOINT_FILE);
  if (file.endsWith('.pt')) {
    const map = tensors instanceof Map ? tensors : new Map(Object.entries(tensors));
    await writeTorchCheckpoint(file, map, { epoch: Number(metadata?.epoch ?? 0), name: metadata?.name ?? 'cliplab' });
  } else await writeSafetensors(file, tensors, metadata);
  await writeJsonAtomic(join(dirname(file), CONFIG_FILE), configJson(config));
  return file;
}
