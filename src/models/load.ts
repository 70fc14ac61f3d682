// Loading a CLIP model for inference or fine-tuning: find the weights (safetensors or torch.save) and config of a
// run, checkpoint or OpenCLIP hub directory (model-dir.ts), check every name and shape, convert to float32 arrays.
import { InputError } from '../util/errors.js';
import { HF_CONFIG_FILE, locateModel } from './model-dir.js';
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

/** The weights file named by `path`: any layout `locateModel` accepts (run, checkpoint or hub directory, hf-hub:, file). */
export function resolveWeightsFile(path: string): string {
  return locateModel(path).weights;
}

/** The full state dict of a checkpoint, checked against its config; BN `num_batches_tracked` as I64 (0 when absent). */
export async function loadStateDict(path: string, configOverride?: string): Promise<{ file: string; config: ClipConfig; tensors: Map<string, NamedTensor> }> {
  const { weights: file, config: found } = locateModel(path);
  const cfgPath = configOverride ?? found;
  if (!cfgPath) throw new InputError(file, `no config.json or ${HF_CONFIG_FILE} beside the checkpoint; pass --model-config`);
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
