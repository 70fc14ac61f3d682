// The progress bars of `cliplab eval`: one per zero-shot head being built, one per dataset's images.
import type { EvalProgress } from '../eval/zeroshot-eval.js';
import { progress, type Progress } from '../util/progress.js';

/**
 * A reporter for evaluateZeroShot's onProgress. A dataset's bar is drawn at its first images, with the total
 * its start announced: its head is built in between, and a bar drawn at the start would be left behind at 0 by
 * the head's bar (and the images would then be counted against a total of 0).
 */
export function evalProgressReporter(stream?: NodeJS.WriteStream): { on: (e: EvalProgress) => void; stop: () => void } {
  let bar: Progress | null = null;
  let label = '';
  let headDone = 0;
  const totals = new Map<string, number>();
  const done = new Map<string, number>();
  const open = (l: string, title: string, total: number, unit: string): Progress => {
    bar?.stop();
    label = l;
    bar = progress(title, total, unit, stream);
    return bar;
  };
  return {
    on(e) {
      if (e.kind === 'head') {
        if (label !== `head ${e.model}` || e.done < headDone) {
          open(`head ${e.model}`, `zero-shot head ${e.model}`, e.total, 'texts');
          headDone = 0;
        }
        bar!.tick(e.done - headDone);
        headDone = e.done;
        return;
      }
      if (e.kind === 'dataset') {
        totals.set(e.dataset, e.total);
        return;
      }
      // Reopened after a warning stopped it: the bar goes on from the images already done.
      if (label !== e.dataset) open(e.dataset, `eval ${e.dataset}`, totals.get(e.dataset) ?? 0, 'images').tick(done.get(e.dataset) ?? 0);
      done.set(e.dataset, (done.get(e.dataset) ?? 0) + e.n);
      bar!.tick(e.n);
    },
    stop() {
      bar?.stop();
      bar = null;
      label = '';
    },
  };
}
