// The CLIP-score scorer on the model engine: cosine similarity of the normalized image and text embeddings
// of any checkpoint `loadClipModel` reads (run dir or safetensors), on the CPU or on ORT's CUDA provider, and
// the normalized image embeddings alone (CLIP near-duplicate removal). The CLI registers it for `dataset
// build` and `dataset score`.
import { ClipEncoders, normalizeRows } from '../../models/encoders.js';
import { loadClipModel } from '../../models/load.js';
import { cudaAvailable, type Device } from '../../runtime/index.js';
import { InputError } from '../../util/errors.js';
import type { ClipScorer, ClipScorerFactory } from './clip-score.js';

/**
 * `cpu`, `cuda` (an error naming what is missing when ORT's CUDA provider is not installed) or `auto` (CUDA
 * when present, else the CPU, with `note` saying so).
 */
export async function scoringDevice(asked: 'cpu' | 'cuda' | 'auto', note: (msg: string) => void = () => {}, hasCuda: () => Promise<boolean> = cudaAvailable): Promise<Device> {
  if (asked === 'cpu') return 'cpu';
  const cuda = await hasCuda();
  if (cuda) return 'cuda';
  if (asked === 'cuda') throw new InputError('--device cuda', "onnxruntime-node's CUDA provider (libonnxruntime_providers_cuda.so) is not installed; use --device cpu or auto");
  note('--device auto: no CUDA provider for onnxruntime-node here, scoring on the CPU');
  return 'cpu';
}

export function engineClipScorerFactory(opts: { threads?: number; device?: Device } = {}): ClipScorerFactory {
  return async (checkpointPath: string): Promise<ClipScorer> => {
    const model = await loadClipModel(checkpointPath);
    const enc = await ClipEncoders.create(model.config, model.weights, { threads: opts.threads, device: opts.device ?? 'cpu' });
    const dim = enc.embedDim;
    return {
      imageSize: model.config.vision_cfg.image_size,
      contextLength: model.config.text_cfg.context_length,
      embedDim: dim,
      async embedImages(images, n) {
        return normalizeRows(Float32Array.from(await enc.encodeImages(images, n)), dim);
      },
      async score({ images, text, n }) {
        const img = normalizeRows(Float32Array.from(await enc.encodeImages(images, n)), dim);
        const txt = normalizeRows(Float32Array.from(await enc.encodeTexts(text, n)), dim);
        const out = new Float32Array(n);
        for (let i = 0; i < n; i++) {
          let s = 0;
          for (let j = 0; j < dim; j++) s += img[i * dim + j]! * txt[i * dim + j]!;
          out[i] = s;
        }
        return out;
      },
      close: () => enc.release(),
    };
  };
}
