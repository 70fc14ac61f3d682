// Bad input to the builder and the runtime names the op, the shapes and the input at fault.
import { describe, it, expect } from 'vitest';
import { Graph, matmul, add, layerNorm, softmax, gatherRows, reshape, dumpGraph } from './index.js';
import { Session } from '../runtime/index.js';

describe('builder errors', () => {
  it('shape mismatch in matmul names the op, scope and both shapes', () => {
    const g = new Graph();
    const x = g.input('x', ['B', 3]);
    const w = g.param('w', [4, 5]);
    expect(() => g.within('visual.proj', () => matmul(x, w))).toThrow(/matmul at visual\.proj: inner dims differ: \[B, 3\] @ \[4, 5\]/);
  });

  it('non-broadcasting add names both input types', () => {
    const g = new Graph();
    expect(() => add(g.input('a', [2, 3]), g.input('b', [4]))).toThrow(/add: shapes \[2, 3\] and \[4\] do not broadcast \(inputs: float32\[2, 3\], float32\[4\]\)/);
  });

  it('unknown op lists the registered ones', () => {
    const g = new Graph();
    expect(() => g.apply('frobnicate', [g.input('a', [1])])).toThrow(/unknown op 'frobnicate' \(registered: .*matmul/);
  });

  it('wrong dtype is rejected', () => {
    const g = new Graph();
    const ids = g.input('ids', [2], 'int64');
    expect(() => softmax(ids)).toThrow(/softmax: .*expects a float tensor, got int64/);
    expect(() => gatherRows(g.param('t', [5, 2]), g.input('f', [2]))).toThrow(/indices must be int64 or int32, got float32/);
    expect(() => add(g.input('c', [2]), ids)).toThrow(/dtype mismatch float32 vs int64/);
  });

  it('layer norm with a wrong scale shape names it', () => {
    const g = new Graph();
    expect(() => layerNorm(g.input('x', [2, 8]), g.param('w', [4]), g.param('b', [8]))).toThrow(/scale\/bias \[4\] must be \[8\]/);
  });

  it('impossible reshape names source and target', () => {
    const g = new Graph();
    expect(() => reshape(g.input('x', [2, 3]), [4, 2])).toThrow(/\[2, 3\] cannot become \[4,2\]/);
  });

  it('a missing feed names the input and its type; a wrong feed shape names both shapes', async () => {
    const g = new Graph();
    const x = g.input('pixels', ['B', 3]);
    const w = g.param('w', [3, 2]);
    g.output('y', matmul(x, w));
    const s = await Session.create(g);
    await expect(s.run({ pixels: { data: new Float32Array(6), shape: [2, 3] } })).rejects.toThrow(/missing feed 'w' \(float32\[3, 2\]\)/);
    await expect(s.run({ pixels: { data: new Float32Array(8), shape: [2, 4] }, w: { data: new Float32Array(6), shape: [3, 2] } })).rejects.toThrow(
      /feed 'pixels': expected shape \[B, 3\], got \[2, 4\]/,
    );
    await expect(s.run({ pixels: { data: new Float64Array(6), shape: [2, 3] }, w: { data: new Float32Array(6), shape: [3, 2] } })).rejects.toThrow(
      /feed 'pixels': expected float32, got float64/,
    );
    await s.release();
  });

  it('the text dump shows ops, types and scopes', () => {
    const g = new Graph('tiny');
    const x = g.input('x', ['B', 3]);
    g.within('head', () => g.output('y', matmul(x, g.param('w', [3, 2]))));
    const d = dumpGraph(g);
    expect(d).toContain('input x = %0: float32[B, 3]');
    expect(d).toMatch(/%2: float32\[B, 2\] = matmul\(%0, %1\)  # head/);
  });
});

describe('devices', () => {
  it('asking for CUDA where the provider is not installed is a clear error', async () => {
    const { cudaAvailable } = await import('../runtime/index.js');
    const g = new Graph();
    g.output('y', add(g.input('x', [1]), 1));
    if (await cudaAvailable()) return; // a GPU machine: nothing to refuse
    await expect(Session.create(g, { device: 'cuda' })).rejects.toThrow(/--device cuda: .*CUDA provider is not installed/);
  });
});
