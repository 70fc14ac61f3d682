// Where a training step's memory goes: what cliplab holds by construction (weights, AdamW moments, gradients,
// the batch), computed from the model's shapes, and what the process measures around it (resident set at
// each stage of a benchmark, ORT's growth over the first steps, peak RSS), so a memory claim can be checked.
import { readFileSync } from 'node:fs';

const MB = 1024 * 1024;

/** Resident set now and its high-water mark (Linux /proc; elsewhere Node's rss and maxRSS). */
export function rss(): { rssMb: number; peakMb: number } {
  try {
    const s = readFileSync('/proc/self/status', 'utf8');
    const kb = (key: string) => Number(new RegExp(`^${key}:\\s+(\\d+)`, 'm').exec(s)?.[1] ?? NaN);
    return { rssMb: round(kb('VmRSS') / 1024), peakMb: round(kb('VmHWM') / 1024) };
  } catch {
    return { rssMb: round(process.memoryUsage.rss() / MB), peakMb: round(process.resourceUsage().maxRSS / 1024) };
  }
}

/** Resident set after each named stage of a run, and the peak reached by then. */
export class MemoryTimeline {
  readonly stages: { stage: string; rss_mb: number; peak_mb: number }[] = [];

  mark(stage: string): void {
    const r = rss();
    this.stages.push({ stage, rss_mb: r.rssMb, peak_mb: r.peakMb });
  }

  at(stage: string): { rss_mb: number; peak_mb: number } {
    const s = this.stages.find((x) => x.stage === stage);
    if (!s) throw new Error(`no memory mark '${stage}'`);
    return s;
  }
}

export interface StateSizes {
  /** Trained parameters, values. */
  params: number;
  /** Buffers (batch-norm running stats), values. */
  buffers: number;
}

/** Where the memory of a training step goes, in MB. `*_mb` of state are computed (float32), the rest measured. */
export interface MemoryAccount {
  /** Parameters and buffers, one copy. */
  weights_mb: number;
  /** AdamW m and v, one copy. */
  adamw_moments_mb: number;
  /** Host copies of the state beyond one each (none: parameters, moments and gradients are updated in place). */
  host_state_copies_mb: number;
  /** The batch fed to the step (images and token ids), host side. */
  batch_mb: number;
  /** Gradients, one per parameter, in a host buffer the step graph writes and AdamW reads. */
  gradients_mb: number;
  /**
   * The most one session run fetched: onnxruntime-node returns a copy of every fetched output, so this much is
   * held twice for a moment (the step graph's gradients; AdamW fetches a few MB per chunk).
   */
  largest_fetch_copy_mb: number;
  /**
   * Computed from the graph: the forward activations the backward pass reads (`savedForBackward`), which live from
   * the forward pass to the backward one; the part of `ort_working_mb` that grows with the batch.
   */
  saved_activations_mb: number;
  /** Measured: RSS the session adds at creation beyond the state it copies in (model, optimized graph, constants). */
  ort_session_mb: number;
  /** Measured: RSS growth over the first steps beyond the state they write first: ORT's arenas (activations, update intermediates) and fetched copies not yet collected. */
  ort_working_mb: number;
  /** Measured: RSS before the model was built (Node, modules) and the peak RSS of the whole benchmark. */
  baseline_rss_mb: number;
  peak_rss_mb: number;
  /** Resident set after each stage. */
  timeline: { stage: string; rss_mb: number; peak_mb: number }[];
}

export function stateMb(values: number): number {
  return round((values * 4) / MB);
}

const round = (x: number): number => Math.round(x * 10) / 10;

export interface AccountInputs {
  params: number;
  buffers: number;
  /** State values the runner copies in at creation (written then, so resident from 'session' on). */
  copiedAtCreate: number;
  /** State values in buffers first written by the steps (zero moments, gradients). */
  firstWrittenByStep: number;
  /** State values held beyond one copy each. */
  spare: number;
  batchBytes: number;
  largestFetchBytes: number;
  savedActivationBytes: number;
}

/** The account of a benchmark whose timeline marked 'start', 'graph' (built), 'session' (runner created) and 'steps'. */
export function memoryAccount(x: AccountInputs, t: MemoryTimeline): MemoryAccount {
  const working = round(t.at('steps').rss_mb - t.at('session').rss_mb - stateMb(x.firstWrittenByStep));
  return {
    weights_mb: stateMb(x.params + x.buffers),
    adamw_moments_mb: stateMb(2 * x.params),
    host_state_copies_mb: stateMb(x.spare),
    batch_mb: round(x.batchBytes / MB),
    gradients_mb: stateMb(x.params),
    largest_fetch_copy_mb: round(x.largestFetchBytes / MB),
    saved_activations_mb: round(x.savedActivationBytes / MB),
    ort_session_mb: round(t.at('session').rss_mb - t.at('graph').rss_mb - stateMb(x.copiedAtCreate)),
    ort_working_mb: working,
    baseline_rss_mb: t.at('start').rss_mb,
    peak_rss_mb: t.stages[t.stages.length - 1]!.peak_mb,
    timeline: t.stages,
  };
}
