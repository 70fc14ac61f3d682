// OpenCLIP's ClipLoss (one process): mean of image->text and text->image cross-entropy with targets arange(B).
import { type Tensor, add, matmul, mT, mul, sum, logSoftmax, neg } from '../graph/index.js';
import type { ClipForward } from '../models/clip.js';

export interface ClipLossOutput {
  loss: Tensor;
  logitsPerImage: Tensor;
  logitsPerText: Tensor;
}

export function clipLoss(f: ClipForward, batchSize: number): ClipLossOutput {
  const g = f.imageFeatures.graph;
  const logitsPerImage = matmul(mul(f.imageFeatures, f.logitScale), mT(f.textFeatures));
  const logitsPerText = mT(logitsPerImage);
  const eye = new Float32Array(batchSize * batchSize);
  for (let i = 0; i < batchSize; i++) eye[i * batchSize + i] = 1;
  const diag = g.constant(eye, [batchSize, batchSize], 'float32');
  const ce = (logits: Tensor) => mul(neg(sum(mul(logSoftmax(logits), diag))), 1 / batchSize);
  const loss = mul(add(ce(logitsPerImage), ce(logitsPerText)), 0.5);
  return { loss, logitsPerImage, logitsPerText };
}
