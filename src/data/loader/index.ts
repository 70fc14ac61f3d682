// Public entry of the data loader: options, batches, data positions.
export { DataLoader, openLoader, type Batch, type BatchBuffers, type LoaderOptions, type LoaderSource } from './loader.js';
export { parseDataPosition, type DataPosition, type SourcePosition } from './position.js';
export { shardOrder } from './order.js';
