// Loading a CLIP model for inference or fine-tuning: resolve a run directory or checkpoint file (safetensors or
// torch.save), its config, check every name and shape, and convert to float32 arrays.
import { existsSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { InputError } from '../util/errors.js';
import { loadModelConfig, type ClipConfig } from './config.js';
import { toFloat32, type NamedTensor } from './safetensors.js';
import { readWeights } from './weights.js';
import { matchStateDict } from './checkpoint.js';
import { stateDictShapes } from './clip.js';

/** Keys a cliplab training checkpoint carries beside the model (optimizer moments, trainer state). */
export const isTrainerKey = (name: string): boolean => name.startsWith('adamw.') || name.startsWith('trainer.');
const NUM_BATCHES = '.num_batches_tracked';

export interface LoadedModel {
  file: string;
  config: ClipConfig;
  weights: Map<string, Float32Array>;
}

/** The weights file for a run directory (final model, else latest checkpoint), a checkpoint dir, or a file. */
export function resolveWeightsFile(path: string): string {
  if (!existsSync(path)) throw new InputError(path, 'no such file or directory');
  if (!statSync(path).isDirectory()) return path;
  for (const f of ['model.safetensors', 'checkpoints/latest.safetensors']) if (existsSync(join(path, f))) return join(path, f);
  throw new InputError(path, 'no model.safetensors or checkpoints/latest.safetensors in this directory');
}

function findConfig(file: string): string | null {
  for (const dir of [dirname(file), dirname(dirname(file))]) if (existsSync(join(dir, 'config.json'))) return join(dir, 'config.json');
  return null;
}

/** The full state dict of a checkpoint, checked against its config; BN `num_batches_tracked` as I64 (0 when absent). */
export async function loadStateDict(path: string, configOverride?: string): Promise<{ file: string; config: ClipConfig; tensors: Map<string, NamedTensor> }> {
  const file = resolveWeightsFile(path);
  const cfgPath = configOverride ?? findConfig(file);
  if (!cfgPath) throw new InputError(file, 'no config.json beside the checkpoint; pass --model-config');
  const config = loadModelConfig(cfgPath);
  const { tensors } = await readWeights(file);
  for (const k of [...tensors.keys()]) if (isTrainerKey(k)) tensors.delete(k);
  const expected = stateDictShapes(config);
  for (const name of [...expected.keys()]) if (name.endsWith('.running_mean')) expected.set(name.replace(/\.running_mean$/, NUM_BATCHES), []);
  const matched = matchStateDict(file, tensors, expected, { allowMissing: (n) => n.endsWith(NUM_BATCHES) });
  for (const name of expected.keys())
    if (name.endsWith(NUM_BATCHES) && !matched.has(name)) matched.set(name, { dtype: 'I64', shape: [], data: BigInt64Array.of(0n) });
  return { file, config, tensors: matched };
}

export async function loadClipModel(path: string, configOverride?: string): Promise<LoadedModel> {
  const { file, config, tensors } = await loadStateDict(path, configOverride);
  const weights = new Map<string, Float32Array>();
  for (const [name, t] of tensors) if (!name.endsWith(NUM_BATCHES)) weights.set(name, toFloat32(t).data);
  return { file, config, weights };
}
