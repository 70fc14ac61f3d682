// BatchNorm2d with torch's parameters and buffers. Train mode normalizes with batch statistics (biased
// variance) and reports the running-stat updates (unbiased variance, momentum 0.1); eval mode uses the buffers.
import { type Tensor, add, mul, sub, div, sqrt, reshape, batchNormTrain } from '../graph/index.js';
import { type ParamStore, zeros, ones } from './params.js';

export interface BatchNormUpdate {
  name: string;
  value: Tensor;
}

export function batchNorm2d(
  ps: ParamStore,
  name: string,
  x: Tensor,
  channels: number,
  mode: 'train' | 'eval',
  updates: BatchNormUpdate[],
  eps = 1e-5,
  momentum = 0.1,
): Tensor {
  const w = ps.param(`${name}.weight`, [channels], ones);
  const b = ps.param(`${name}.bias`, [channels], zeros);
  const rm = ps.buffer(`${name}.running_mean`, [channels], zeros);
  const rv = ps.buffer(`${name}.running_var`, [channels], ones);
  if (mode === 'train') {
    const { y, mean, variance } = batchNormTrain(x, w, b, eps);
    const [n, , h, wd] = x.shape as number[];
    const count = n! * h! * wd!;
    const unbiased = mul(variance, count / Math.max(1, count - 1));
    updates.push({ name: `${name}.running_mean`, value: add(mul(rm, 1 - momentum), mul(mean, momentum)) });
    updates.push({ name: `${name}.running_var`, value: add(mul(rv, 1 - momentum), mul(unbiased, momentum)) });
    return y;
  }
  // Eval mode as x·scale + shift (what torch's CPU inference kernel computes): with frozen weights ORT
  // folds scale and shift into constants and fuses them into the preceding convolution.
  const scale = div(w, sqrt(add(rv, eps)));
  const shift = sub(b, mul(rm, scale));
  return add(mul(x, reshape(scale, [1, channels, 1, 1])), reshape(shift, [1, channels, 1, 1]));
}
