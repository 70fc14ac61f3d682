// The full OpenCLIP state_dict of a config: parameters, batch-norm buffers and their num_batches_tracked.
import { stateDictShapes } from '../models/clip.js';
import type { ClipArch } from '../models/arch.js';

export const NUM_BATCHES = '.num_batches_tracked';

export interface ExpectedStateDict {
  shapes: Map<string, number[]>;
}

export function expectedStateDict(cfg: ClipArch): ExpectedStateDict {
  const shapes = stateDictShapes(cfg);
  for (const name of [...shapes.keys()]) {
    if (name.endsWith('.running_mean')) shapes.set(name.replace(/\.running_mean$/, NUM_BATCHES), []);
  }
  return { shapes };
}
