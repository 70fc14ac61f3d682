// Conv2d layer with torch's parameter layout ([out, in, k, k]) and default init; bias optional.
import { type Tensor, add, conv2d, reshape } from '../graph/index.js';
import { type ParamStore, uniform } from './params.js';

export function conv2dLayer(ps: ParamStore, name: string, x: Tensor, cin: number, cout: number, k: number, opts: { stride?: number; pad?: number; bias?: boolean } = {}): Tensor {
  const bound = 1 / Math.sqrt(cin * k * k);
  const w = ps.param(`${name}.weight`, [cout, cin, k, k], uniform(bound));
  let y = conv2d(x, w, { stride: opts.stride ?? 1, pad: opts.pad ?? 0 });
  if (opts.bias) y = add(y, reshape(ps.param(`${name}.bias`, [cout], uniform(bound)), [1, cout, 1, 1]));
  return y;
}
