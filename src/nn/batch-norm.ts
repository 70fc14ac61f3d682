// BatchNorm2d with torch's parameters and buffers. Train mode normalizes with batch statistics (biased
// variance) and reports the running-stat updates (unbiased variance, momentum 0.1); eval mode uses the buffers.
import { type Tensor, add, mul, sub, div, sqrt, mean, reshape } from '../graph/index.js';
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
  const w = reshape(ps.param(`${name}.weight`, [channels], ones), [1, channels, 1, 1]);
  const b = reshape(ps.param(`${name}.bias`, [channels], zeros), [1, channels, 1, 1]);
  const rm = ps.buffer(`${name}.running_mean`, [channels], zeros);
  const rv = ps.buffer(`${name}.running_var`, [channels], ones);
  let mu: Tensor;
  let variance: Tensor;
  if (mode === 'train') {
    mu = mean(x, [0, 2, 3], true);
    const centered = sub(x, mu);
    variance = mean(mul(centered, centered), [0, 2, 3], true);
    const [n, , h, wd] = x.shape as number[];
    const count = n! * h! * wd!;
    const flatMu = reshape(mu, [channels]);
    const unbiased = mul(reshape(variance, [channels]), count / Math.max(1, count - 1));
    updates.push({ name: `${name}.running_mean`, value: add(mul(rm, 1 - momentum), mul(flatMu, momentum)) });
    updates.push({ name: `${name}.running_var`, value: add(mul(rv, 1 - momentum), mul(unbiased, momentum)) });
    return add(mul(div(centered, sqrt(add(variance, eps))), w), b);
  }
  mu = reshape(rm, [1, channels, 1, 1]);
  variance = reshape(rv, [1, channels, 1, 1]);
  return add(mul(div(sub(x, mu), sqrt(add(variance, eps))), w), b);
}
