// One training step on a fixed batch with every intermediate written out (`cliplab step`): forward
// outputs, every gradient and the state after AdamW, under OpenCLIP's names, for parity checks.
import { InputError } from '../util/errors.js';
import { scalarFeeds } from '../nn/step-runner.js';
import { adamwScalars } from '../nn/adamw.js';
import type { NamedTensor } from '../models/safetensors.js';
import { toFloat32 } from '../models/safetensors.js';
import type { ClipArch } from '../models/arch.js';
import { buildTrainGraph, gradName } from './train-graph.js';
import { TrainStepRunner } from './train-step.js';
import { expectedStateDict, NUM_BATCHES } from './state-dict.js';
import { matchStateDict } from '../models/checkpoint.js';

export interface StepHyper {
  lr: number;
  beta1: number;
  beta2: number;
  eps: number;
  weightDecay: number;
}

export interface ParityBatch {
  images: NamedTensor;
  text: NamedTensor;
}

export async function parityStep(
  cfg: ClipArch,
  weightsFile: string,
  weights: Map<string, NamedTensor>,
  batchFile: string,
  batch: ParityBatch,
  hyper: StepHyper,
  opts: { threads?: number } = {},
): Promise<Map<string, NamedTensor>> {
  const { images, text } = batch;
  const s = cfg.vision_cfg.image_size;
  if (images.dtype !== 'F32' || images.shape.length !== 4 || images.shape[1] !== 3 || images.shape[2] !== s || images.shape[3] !== s)
    throw new InputError(`${batchFile}: images`, `expected F32 [B, 3, ${s}, ${s}], got ${images.dtype} [${images.shape}]`);
  const B = images.shape[0]!;
  if (text.dtype !== 'I64' || text.shape.length !== 2 || text.shape[0] !== B || text.shape[1] !== cfg.text_cfg.context_length)
    throw new InputError(`${batchFile}: text`, `expected I64 [${B}, ${cfg.text_cfg.context_length}], got ${text.dtype} [${text.shape}]`);

  const expected = expectedStateDict(cfg);
  const matched = matchStateDict(weightsFile, weights, expected.shapes);
  const values = new Map<string, Float32Array>();
  for (const [name, t] of matched) if (!name.endsWith(NUM_BATCHES)) values.set(name, toFloat32(t).data);

  const tg = buildTrainGraph(cfg, {
    batchSize: B,
    adamw: { beta1: hyper.beta1, beta2: hyper.beta2, eps: hyper.eps, weightDecay: hyper.weightDecay },
    debugOutputs: true,
  });
  const runner = await TrainStepRunner.create(tg, values, undefined, { threads: opts.threads });
  try {
    const fetch = ['loss', 'forward.logit_scale', 'forward.image_features', 'forward.text_features', 'forward.logits_per_image', 'forward.logits_per_text', ...tg.withGrad.map(gradName)];
    const out = await runner.step(
      {
        images: { data: images.data as Float32Array, shape: images.shape },
        text: { data: text.data as BigInt64Array, shape: text.shape },
        ...scalarFeeds(adamwScalars({ beta1: hyper.beta1, beta2: hyper.beta2, weightDecay: hyper.weightDecay }, hyper.lr, 1)),
      },
      fetch,
    );
    const result = new Map<string, NamedTensor>();
    const f32 = (data: Float32Array, shape: number[]): NamedTensor => ({ dtype: 'F32', shape, data: Float32Array.from(data) });
    for (const name of fetch) {
      const t = out[name]!;
      const key = name === 'loss' ? 'forward.loss' : name;
      result.set(key, f32(t.data as Float32Array, t.shape));
    }
    for (const [name, shape] of expected.shapes) {
      if (name.endsWith(NUM_BATCHES)) {
        const before = matched.get(name)!.data as BigInt64Array;
        result.set(name, { dtype: 'I64', shape: [], data: BigInt64Array.of(before[0]! + 1n) });
      } else {
        result.set(name, f32(runner.get(name), shape));
      }
    }
    return result;
  } finally {
    await runner.release();
  }
}
