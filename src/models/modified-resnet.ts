// OpenCLIP's ModifiedResNet: 3-conv stem, bottlenecks with avg-pool downsampling, attention pooling.
// Parameter and buffer names as `visual.*`; batch norm in train or eval mode.
import { type Tensor, add, relu, reshape, transpose, concat, mean, matmul, mT, slice } from '../graph/index.js';
import { type ParamStore, normal, uniform } from '../nn/params.js';
import { conv2dLayer } from '../nn/conv.js';
import { batchNorm2d, type BatchNormUpdate } from '../nn/batch-norm.js';
import { sdpa, mergeHeads } from '../nn/attention.js';
import { avgPool2d } from '../graph/index.js';
import type { VisionArch } from './arch.js';

interface Ctx {
  ps: ParamStore;
  mode: 'train' | 'eval';
  updates: BatchNormUpdate[];
}

function convBn(c: Ctx, conv: string, bn: string, x: Tensor, cin: number, cout: number, k: number, stride = 1): Tensor {
  const y = conv2dLayer(c.ps, conv, x, cin, cout, k, { stride, pad: (k - 1) / 2 });
  return batchNorm2d(c.ps, bn, y, cout, c.mode, c.updates);
}

function bottleneck(c: Ctx, name: string, x: Tensor, inplanes: number, planes: number, stride: number): Tensor {
  let out = relu(convBn(c, `${name}.conv1`, `${name}.bn1`, x, inplanes, planes, 1));
  out = relu(convBn(c, `${name}.conv2`, `${name}.bn2`, out, planes, planes, 3));
  out = avgPool2d(out, stride);
  out = convBn(c, `${name}.conv3`, `${name}.bn3`, out, planes, planes * 4, 1);
  let identity = x;
  if (stride > 1 || inplanes !== planes * 4) {
    identity = convBn(c, `${name}.downsample.0`, `${name}.downsample.1`, avgPool2d(x, stride), inplanes, planes * 4, 1);
  }
  return relu(add(out, identity));
}

function attentionPool(c: Ctx, x: Tensor, spatial: number, embed: number, heads: number, out: number): Tensor {
  const ps = c.ps;
  const std = embed ** -0.5;
  const tokens = transpose(reshape(x, [0, embed, spatial * spatial]), [0, 2, 1]); // [B, HW, C]
  let t = concat([mean(tokens, [1], true), tokens], 1);
  t = add(t, ps.param('visual.attnpool.positional_embedding', [spatial * spatial + 1, embed], normal(std)));
  const proj = (n: string, o: number, src: Tensor) =>
    add(matmul(src, mT(ps.param(`visual.attnpool.${n}.weight`, [o, embed], normal(std)))), ps.param(`visual.attnpool.${n}.bias`, [o], uniform(std)));
  const dh = embed / heads;
  const split = (y: Tensor) => transpose(reshape(y, [0, 0, heads, dh]), [0, 2, 1, 3]);
  // Only the first (mean) token's output is used: query with it alone.
  const q = split(proj('q_proj', embed, slice(t, 1, 0, 1)));
  const k = split(proj('k_proj', embed, t));
  const v = split(proj('v_proj', embed, t));
  const o = mergeHeads(sdpa(q, k, v));
  return reshape(proj('c_proj', out, o), [0, out]);
}

export function modifiedResNet(ps: ParamStore, images: Tensor, v: VisionArch, embedDim: number, mode: 'train' | 'eval', updates: BatchNormUpdate[]): Tensor {
  const c: Ctx = { ps, mode, updates };
  const layers = v.layers as number[];
  const width = v.width;
  const heads = (width * 32) / v.head_width;
  let x = relu(convBn(c, 'visual.conv1', 'visual.bn1', images, 3, width / 2, 3, 2));
  x = relu(convBn(c, 'visual.conv2', 'visual.bn2', x, width / 2, width / 2, 3));
  x = relu(convBn(c, 'visual.conv3', 'visual.bn3', x, width / 2, width, 3));
  x = avgPool2d(x, 2);
  let inplanes = width;
  layers.forEach((blocks, li) => {
    const planes = width * 2 ** li;
    for (let bi = 0; bi < blocks; bi++) {
      const name = `visual.layer${li + 1}.${bi}`;
      x = ps.graph.within(name, () => bottleneck(c, name, x, inplanes, planes, bi === 0 && li > 0 ? 2 : 1));
      inplanes = planes * 4;
    }
  });
  return attentionPool(c, x, v.image_size / 32, width * 32, heads, embedDim);
}

/** OpenCLIP zero-inits every bottleneck's bn3 weight. */
export const zeroInitBn3 = (name: string): boolean => /^visual\.layer\d+\.\d+\.bn3\.weight$/.test(name);
