// The graph layer's public API: IR, builder functions (one import for model code), autodiff, writer, dump.
export { Graph, Tensor, type Node, type HostData, type InputKind } from './graph.js';
export type { DType, Dim, Shape, TensorType } from './types.js';
export { registeredOps, getOp, type OpDef } from './registry.js';
export * from './ops/elementwise.js';
export * from './ops/shape.js';
export * from './ops/reduce.js';
export * from './ops/nn.js';
export * from './composite.js';
export { grad, unbroadcast } from './autodiff.js';
export { savedForBackward, type SavedTensor } from './saved.js';
export { toModelProto, toOnnxBytes, OPSET } from './onnx.js';
export { dumpGraph } from './dump.js';
