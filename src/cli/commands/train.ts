// `cliplab train`: train or fine-tune a CLIP model on shard directories into a run directory (src/train/loop.ts).
import type { Command } from 'commander';
import { trainClip } from '../../train/loop.js';
import { TRAIN_OPTIONS } from '../../train/options.js';
import { info } from '../../util/log.js';
import { progress, type Progress } from '../../util/progress.js';
import { addOptions, optionsFromFlags } from '../options.js';

export function register(program: Command): void {
  const cmd = program
    .command('train')
    .description('train CLIP (from scratch or --init to fine-tune) on shard directories; resumable (see docs/training.md)');
  addOptions(cmd, TRAIN_OPTIONS)
    .option('--json', 'print the summary as JSON')
    .action(async (f: Record<string, unknown> & { json?: boolean }) => {
      let bar: Progress | null = null;
      // Ctrl-C once: finish the step, write checkpoints/latest, exit (resumable). Twice: exit now.
      const stop = new AbortController();
      const onSigint = (): void => {
        if (stop.signal.aborted) process.exit(130);
        info('\ncliplab train: stopping after this step (Ctrl-C again to quit now)');
        stop.abort();
      };
      process.on('SIGINT', onSigint);
      const result = await trainClip({
        ...optionsFromFlags(TRAIN_OPTIONS, f),
        out: String(f.out),
        signal: stop.signal,
        onStart: (p, start) => {
          info(`cliplab train: ${p.model}, ${p.total_steps} steps of ${p.batch_size} (${p.epochs} epoch(s) × ${p.samples_per_epoch} samples)${start ? `, resuming at step ${start}` : ''}`);
          bar = progress('train', p.total_steps, 'steps');
          bar.tick(start);
        },
        onStep: (s) => {
          bar?.tick(1, { rate: `loss ${s.loss.toFixed(3)} | ${Math.round(s.images_per_s)} img/s` });
        },
      }).finally(() => {
        (bar as Progress | null)?.stop();
        process.off('SIGINT', onSigint);
      });
      // The step waiting for data more than 5% of the time means the loader, not the model, sets the pace
      // (the first batch's wait, while the loader starts, is about a second at most: not worth a word).
      if (result.data_wait_s > 0.05 * result.loop_s && result.data_wait_s > 2)
        info(`cliplab train: the step waited ${result.data_wait_s.toFixed(1)} s for data; more --workers (decode threads) may help`);
      if (f.json) process.stdout.write(JSON.stringify(result) + '\n');
      else
        process.stdout.write(
          `${result.stopped ? 'stopped (resumable with --resume)' : 'done'}: ${result.steps} steps, ${result.samples_seen} samples, loss ${result.final_loss?.toFixed(4) ?? '-'}, ${result.images_per_s} img/s → ${result.model ?? result.run}\n`,
        );
    });
}
