// The CLIP-score scorer on the model engine: cosine similarity of the normalized image and text embeddings
// of any checkpoint `loadClipModel` reads (run dir or safetensors). The CLI registers it for `dataset build`.
import { ClipEncoders, normalizeRows } from '../../models/encoders.js';
import { loadClipModel } from '../../models/load.js';
import type { ClipScorer, ClipScorerFactory } from './clip-score.js';

export function engineClipScorerFactory(opts: { threads?: number } = {}): ClipScorerFactory {
  return async (checkpointPath: string): Promise<ClipScorer> => {
    const model = await loadClipModel(checkpointPath);
    const enc = await ClipEncoders.create(model.config, model.weights, { threads: opts.threads });
    const dim = enc.embedDim;
    return {
      imageSize: model.config.vision_cfg.image_size,
      contextLength: model.config.text_cfg.context_length,
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
