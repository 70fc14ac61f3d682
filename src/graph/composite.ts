// Composite ops built from primitives: they need no VJP of their own.
import type { Tensor } from './graph.js';
import { mul, div, sigmoid, sqrt, maximum } from './ops/elementwise.js';
import { sum } from './ops/reduce.js';

/** OpenAI CLIP's QuickGELU: x * sigmoid(1.702 x). */
export function quickGelu(x: Tensor): Tensor {
  return mul(x, sigmoid(mul(x, 1.702)));
}

/** x / max(||x||, eps) along the last axis (torch.nn.functional.normalize). */
export function l2Normalize(x: Tensor, eps = 1e-12): Tensor {
  const norm = sqrt(sum(mul(x, x), [-1], true));
  return div(x, maximum(norm, eps));
}
