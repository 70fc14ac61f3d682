// Loading a CLIP model for inference or fine-tuning: resolve a run directory or checkpoint file, its config,
// check every name and shape, and convert to float32 arrays.
import { existsSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { InputError } from '../util/errors.js';
import { loadModelConfig, type ClipConfig } from './config.js';
import { readSafetensors, toFloat32 } from './safetensors.js';
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

export async function loadClipModel(path: string, configOverride?: string): Promise<LoadedModel> {
  const file = resolveWeightsFile(path);
  const cfgPath = configOverride ?? findConfig(file);
  if (!cfgPath) throw new InputError(file, 'no config.json beside the checkpoint; pass --model-config');
  const config = loadModelConfig(cfgPath);
  const { tensors } = await readSafetensors(file);
  for (const k of [...tensors.keys()]) if (isTrainerKey(k)) tensors.delete(k);
  const expected = stateDictShapes(config);
  for (const name of [...expected.keys()]) if (name.endsWith('.running_mean')) expected.set(name.replace(/\.running_mean$/, NUM_BATCHES), []);
  const matched = matchStateDict(file, tensors, expected, { allowMissing: (n) => n.endsWith(NUM_BATCHES) });
  const weights = new Map<string, Float32Array>();
  for (const [name, t] of matched) if (!name.endsWith(NUM_BATCHES)) weights.set(name, toFloat32(t).data);
  return { file, config, weights };
}
