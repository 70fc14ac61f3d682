// Matmul/conv FLOPs of a CLIP training step (forward + backward = 3x forward), for utilization figures.
import type { ClipArch } from '../models/arch.js';
import { isResNet } from '../models/arch.js';

function transformerFlops(tokens: number, width: number, layers: number, mlpRatio: number): number {
  const mlp = Math.round(width * mlpRatio);
  const perLayer = 2 * tokens * (3 * width * width + width * width + 2 * width * mlp) + 2 * 2 * tokens * tokens * width;
  return layers * perLayer;
}

function resnetFlops(cfg: ClipArch): number {
  const v = cfg.vision_cfg;
  const w = v.width;
  let hw = v.image_size / 2;
  let f = 2 * hw * hw * (3 * (w / 2) * 9 + (w / 2) * (w / 2) * 9 + (w / 2) * w * 9);
  hw /= 2;
  let inp = w;
  (v.layers as number[]).forEach((blocks, li) => {
    const planes = w * 2 ** li;
    for (let b = 0; b < blocks; b++) {
      const stride = b === 0 && li > 0 ? 2 : 1;
      f += 2 * hw * hw * (inp * planes + planes * planes * 9);
      const out = hw / stride;
      f += 2 * out * out * planes * planes * 4;
      if (b === 0) f += 2 * out * out * inp * planes * 4;
      hw = out;
      inp = planes * 4;
    }
  });
  const e = w * 32;
  const t = hw * hw + 1;
  f += 2 * (t * 2 * e * e + e * e + e * cfg.embed_dim) + 2 * 2 * t * e;
  return f;
}

/** Approximate FLOPs of one training step for a batch of `batch` image-text pairs. */
export function trainFlops(cfg: ClipArch, batch: number): number {
  const v = cfg.vision_cfg;
  const t = cfg.text_cfg;
  let img: number;
  if (isResNet(v)) img = resnetFlops(cfg);
  else {
    const p = v.patch_size!;
    const tokens = (v.image_size / p) ** 2 + 1;
    img = 2 * (tokens - 1) * 3 * p * p * v.width + transformerFlops(tokens, v.width, v.layers as number, v.mlp_ratio) + 2 * v.width * cfg.embed_dim;
  }
  const txt = transformerFlops(t.context_length, t.width, t.layers, t.mlp_ratio ?? 4) + 2 * t.width * cfg.embed_dim;
  return 3 * batch * (img + txt);
}
