// Learning-rate schedule: OpenCLIP's `cosine_lr` (src/training/scheduler.py) — linear warmup to the peak,
// then half a cosine down to 0 at the last step. `step` counts from 0, as OpenCLIP's does.
export function cosineLr(baseLr: number, warmup: number, totalSteps: number, step: number): number {
  if (step < warmup) return (baseLr * (step + 1)) / warmup;
  const e = step - warmup;
  const es = totalSteps - warmup;
  return es > 0 ? 0.5 * (1 + Math.cos((Math.PI * e) / es)) * baseLr : baseLr;
}
