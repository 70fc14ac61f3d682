// Reverse-mode autodiff over the recorded node list. The one place that accumulates cotangents and
// sums broadcast dimensions away; ops only supply their VJP rule.
import { GraphError } from '../util/errors.js';
import { getOp } from './registry.js';
import type { Node, Tensor } from './graph.js';
import { isFloat, sameShape, shapeStr } from './types.js';
import { add } from './ops/elementwise.js';
import { sum } from './ops/reduce.js';
import { reshapeLike } from './ops/shape.js';

/** Sum `g` (shaped like a broadcast result) back to the shape of `x`. */
export function unbroadcast(g: Tensor, x: Tensor): Tensor {
  if (sameShape(g.shape, x.shape)) return g;
  const lead = g.rank - x.rank;
  if (lead < 0) throw new GraphError(`gradient ${shapeStr(g.shape)} has lower rank than ${shapeStr(x.shape)}`);
  let r = lead > 0 ? sum(g, [...Array(lead).keys()]) : g;
  const axes: number[] = [];
  x.shape.forEach((d, i) => {
    if (d === 1 && r.shape[i] !== 1) axes.push(i);
    else if (d !== r.shape[i]) throw new GraphError(`gradient ${shapeStr(g.shape)} does not reduce to ${shapeStr(x.shape)}`);
  });
  if (axes.length) r = sum(r, axes, true);
  return reshapeLike(r, x);
}

/**
 * Gradients of scalar `loss` with respect to each of `wrt` (null where `loss` does not depend on it).
 * Only nodes on a path from `wrt` to `loss` get VJPs.
 */
export function grad(loss: Tensor, wrt: Tensor[]): (Tensor | null)[] {
  const g = loss.graph;
  if (loss.shape.length !== 0) throw new GraphError(`grad: loss must be a scalar, got ${shapeStr(loss.shape)}`);
  if (!isFloat(loss.dtype)) throw new GraphError(`grad: loss must be float, got ${loss.dtype}`);
  const nodes = g.nodes.slice();

  // Forward: tensors that depend on any of wrt.
  const live = new Set<number>(wrt.map((t) => t.id));
  for (const n of nodes) if (n.inputs.some((t) => live.has(t.id))) for (const o of n.outputs) live.add(o.id);
  if (!live.has(loss.id)) return wrt.map(() => null);

  // Backward: nodes the loss depends on.
  const needed = new Set<number>([loss.id]);
  const onPath: Node[] = [];
  for (let i = nodes.length - 1; i >= 0; i--) {
    const n = nodes[i]!;
    if (!n.outputs.some((o) => needed.has(o.id))) continue;
    for (const t of n.inputs) needed.add(t.id);
    if (n.outputs.some((o) => live.has(o.id))) onPath.push(n);
  }

  const cot = new Map<number, Tensor>();
  cot.set(loss.id, g.constant(loss.dtype === 'float64' ? Float64Array.of(1) : Float32Array.of(1), [], loss.dtype));
  for (const n of onPath) {
    const outCots = n.outputs.map((o) => cot.get(o.id) ?? null);
    if (outCots.every((c) => c === null)) continue;
    const op = getOp(n.op);
    if (!op.vjp) continue;
    const inCots = g.within(n.scope ? `${n.scope}/grad(${n.op})` : `grad(${n.op})`, () =>
      op.vjp!({ inputs: n.inputs, outputs: n.outputs, cotangents: outCots, attrs: n.attrs }),
    );
    if (inCots.length !== n.inputs.length) throw new GraphError(`vjp of '${n.op}' returned ${inCots.length} cotangents for ${n.inputs.length} inputs`);
    n.inputs.forEach((x, i) => {
      const c = inCots[i];
      if (!c || !live.has(x.id) || !isFloat(x.dtype)) return;
      const r = unbroadcast(c, x);
      const prev = cot.get(x.id);
      cot.set(x.id, prev ? add(prev, r) : r);
    });
  }
  return wrt.map((t) => cot.get(t.id) ?? null);
}
