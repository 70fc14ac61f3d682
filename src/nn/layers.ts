// Layers from primitives, with OpenCLIP's parameter names and shapes (nn.Linear stores weight as [out, in]).
import { type Tensor, add, matmul, mT, layerNorm as lnPrim } from '../graph/index.js';
import { type ParamStore, type Init, zeros, ones } from './params.js';

/** y = x Wᵀ + b with W [out, in] (torch's layout, so state_dict tensors load as they are). */
export function linear(ps: ParamStore, name: string, x: Tensor, inF: number, outF: number, opts: { bias?: boolean; init?: Init; biasInit?: Init } = {}): Tensor {
  const bound = 1 / Math.sqrt(inF);
  const w = ps.param(`${name}.weight`, [outF, inF], opts.init ?? ((r, n) => Float32Array.from({ length: n }, () => r.uniform(-bound, bound))));
  let y = matmul(x, mT(w));
  if (opts.bias !== false) y = add(y, ps.param(`${name}.bias`, [outF], opts.biasInit ?? zeros));
  return y;
}

export function layerNorm(ps: ParamStore, name: string, x: Tensor, dim: number, eps = 1e-5): Tensor {
  return lnPrim(x, ps.param(`${name}.weight`, [dim], ones), ps.param(`${name}.bias`, [dim], zeros), eps);
}
