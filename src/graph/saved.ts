// What a training graph keeps from its forward pass for its backward pass: the activations a backward node
// reads. These stay alive from where they are computed until the backward pass is done with them, so their sum
// is the part of a step's memory that grows with the batch, and the figure to compare with what torch's autograd
// saves for the same model.
import { type Graph, type Tensor, liveNodes, readsValues } from './graph.js';
import { bytesPerElement, numel } from './types.js';

/** Ops whose output shares its input's buffer in ORT (a reshape is a view): the input is what is kept. */
const ALIASES = new Set(['reshape', 'reshape_like']);

export interface SavedTensor {
  tensor: Tensor;
  /** The producing op and builder scope. */
  op: string;
  scope: string;
  bytes: number;
}

/**
 * Forward activations read by the backward pass, nodes `backwardFrom` onwards of `g` (the node count before
 * `grad` was called). Graph inputs, parameters and constants are not counted; only nodes that reach an output.
 */
export function savedForBackward(g: Graph, backwardFrom: number): SavedTensor[] {
  const live = liveNodes(g);
  const root = (t: Tensor): Tensor => {
    while (t.node && ALIASES.has(t.node.op)) t = t.node.inputs[0]!;
    return t;
  };
  const saved = new Map<number, SavedTensor>();
  for (const n of g.nodes) {
    if (n.id < backwardFrom || !live.has(n.id)) continue;
    n.inputs.forEach((x, j) => {
      if (!readsValues(n, j)) return;
      const t = root(x);
      if (!t.node || t.node.id >= backwardFrom || saved.has(t.id)) return;
      saved.set(t.id, { tensor: t, op: t.node.op, scope: t.node.scope, bytes: numel(t.shape, 'saved activation') * bytesPerElement(t.dtype) });
    });
  }
  return [...saved.values()];
}
