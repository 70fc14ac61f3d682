// Training checkpoints (RUN/checkpoints/*.safetensors): the model's OpenCLIP state_dict, the AdamW moments
// (`adamw.m.<p>`, `adamw.v.<p>`) and the trainer state (step, samples, data position, seed) as `trainer.*`
// metadata. `loadClipModel` drops the non-model keys, so a checkpoint is also a model to evaluate or fine-tune.
import { readSafetensors, serializeSafetensors, toFloat32, type NamedTensor } from '../models/safetensors.js';
import { checkTensorValues, matchStateDict } from '../models/checkpoint.js';
import { isTrainerKey } from '../models/load.js';
import { stateName } from '../nn/adamw.js';
import { parseDataPosition, type DataPosition } from '../data/loader/index.js';
import { InputError } from '../util/errors.js';
import { writeFileAtomic } from '../util/fs.js';
import type { ClipArch } from '../models/arch.js';
import { expectedStateDict, NUM_BATCHES } from './state-dict.js';

export const CHECKPOINT_FORMAT = 'cliplab-train-checkpoint/1';

/** Where training stands after `step` steps. */
export interface TrainerState {
  step: number;
  epoch: number;
  samplesSeen: number;
  /** The loader's position after the last batch trained on. */
  position: DataPosition;
  seed: number;
}

export interface CheckpointContents {
  /** Parameters and buffers (float32), OpenCLIP names. */
  values: Map<string, Float32Array>;
  /** BN `num_batches_tracked` per batch-norm layer (ResNet only). */
  numBatches: Map<string, bigint>;
  /** `adamw.m.<p>` / `adamw.v.<p>` of the trainable parameters. */
  moments: Map<string, Float32Array>;
  trainer: TrainerState;
}

/** Serializes once and writes every file atomically (a crash leaves each file old or new, never half). */
export async function writeTrainCheckpoint(files: string[], c: CheckpointContents, cfg: ClipArch, model: string): Promise<void> {
  const tensors = new Map<string, NamedTensor>();
  const shapes = expectedStateDict(cfg).shapes;
  for (const [name, shape] of shapes) {
    if (name.endsWith(NUM_BATCHES)) {
      tensors.set(name, { dtype: 'I64', shape: [], data: BigInt64Array.of(c.numBatches.get(name) ?? 0n) });
      continue;
    }
    const v = c.values.get(name);
    if (!v) throw new Error(`checkpoint: no value for '${name}'`);
    tensors.set(name, { dtype: 'F32', shape, data: v });
  }
  for (const [name, v] of c.moments) tensors.set(name, { dtype: 'F32', shape: shapes.get(name.replace(/^adamw\.[mv]\./, '')) ?? [v.length], data: v });
  const t = c.trainer;
  const bytes = serializeSafetensors(tensors, {
    format: CHECKPOINT_FORMAT,
    model,
    'trainer.step': String(t.step),
    'trainer.epoch': String(t.epoch),
    'trainer.samples_seen': String(t.samplesSeen),
    'trainer.data_position': JSON.stringify(t.position),
    // Every random draw (init, shard order, shuffle, source mixing, augmentation) is a pure function of the
    // seed and the data position, so the seed is the whole RNG state.
    'trainer.seed': String(t.seed),
  });
  for (const f of files) await writeFileAtomic(f, bytes);
}

/** Reads a training checkpoint and checks it against the model and its trainable parameters. */
export async function readTrainCheckpoint(file: string, cfg: ClipArch, trainable: string[]): Promise<CheckpointContents> {
  const { tensors, metadata } = await readSafetensors(file);
  if (metadata.format !== CHECKPOINT_FORMAT) throw new InputError(file, `not a cliplab training checkpoint (format '${metadata.format ?? ''}')`);
  const model = new Map<string, NamedTensor>();
  const moments = new Map<string, Float32Array>();
  for (const [k, t] of tensors) {
    if (k.startsWith('adamw.')) {
      checkTensorValues(file, k, t);
      moments.set(k, toFloat32(t).data);
    }
    else if (!isTrainerKey(k)) model.set(k, t);
  }
  const matched = matchStateDict(file, model, expectedStateDict(cfg).shapes);
  const values = new Map<string, Float32Array>();
  const numBatches = new Map<string, bigint>();
  for (const [name, t] of matched) {
    if (name.endsWith(NUM_BATCHES)) numBatches.set(name, (t.data as BigInt64Array)[0] ?? 0n);
    else values.set(name, toFloat32(t).data);
  }
  for (const p of trainable) {
    for (const k of ['m', 'v'] as const) {
      const m = moments.get(stateName(k, p));
      if (!m || m.length !== values.get(p)!.length) throw new InputError(file, `optimizer state '${stateName(k, p)}' missing or of the wrong size`);
    }
  }
  const int = (key: string): number => {
    const v = Number(metadata[key]);
    if (!Number.isSafeInteger(v) || v < 0) throw new InputError(file, `metadata ${key}: expected an integer, got '${metadata[key] ?? ''}'`);
    return v;
  };
  let position: DataPosition;
  try {
    position = parseDataPosition(JSON.parse(metadata['trainer.data_position'] ?? ''), `${file}: trainer.data_position`);
  } catch (e) {
    if (e instanceof InputError) throw e;
    throw new InputError(file, 'metadata trainer.data_position is not valid JSON');
  }
  return {
    values,
    numBatches,
    moments,
    trainer: { step: int('trainer.step'), epoch: int('trainer.epoch'), samplesSeen: int('trainer.samples_seen'), seed: int('trainer.seed'), position },
  };
}
