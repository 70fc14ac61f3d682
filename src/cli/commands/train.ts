// `cliplab train`: train or fine-tune a CLIP model on shard directories into a run directory (src/train/loop.ts).
import { hostname } from 'node:os';
import type { Command } from 'commander';
import { shellQuote } from '../../study/slurm.js';
import { trainClip } from '../../train/loop.js';
import { OPENCLIP_ONLY, TRAIN_OPTIONS, type TrainOptions } from '../../train/options.js';
import { trainOpenClip } from '../../train/openclip/run.js';
import { InputError } from '../../util/errors.js';
import { info } from '../../util/log.js';
import { flagName } from '../../util/options.js';
import { progress, type Progress } from '../../util/progress.js';
import { addOptions, optionsFromFlags } from '../options.js';

export function register(program: Command): void {
  const cmd = program
    .command('train')
    .description('train CLIP (from scratch or --init to fine-tune) on shard directories; resumable (see docs/training.md)');
  addOptions(cmd, TRAIN_OPTIONS)
    .option('--json', 'print the summary as JSON')
    .action(async (f: Record<string, unknown> & { json?: boolean }) => {
      const options: TrainOptions = { ...optionsFromFlags(TRAIN_OPTIONS, f), out: String(f.out) };
      if (options.engine === 'openclip') return trainWithOpenClip(options, f.json === true);
      const only = OPENCLIP_ONLY.find((k) => options[k] !== undefined);
      if (only) throw new InputError(flagName(TRAIN_OPTIONS[only]), 'applies only with --engine openclip');
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
        ...options,
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

/** `--engine openclip`: OpenCLIP's trainer on the same recipe, its output streamed to stderr (src/train/openclip). */
async function trainWithOpenClip(options: TrainOptions, json: boolean): Promise<void> {
  // Inside a Slurm job (sbatch/salloc), several processes are started with srun on the job's nodes.
  const jobId = process.env.SLURM_JOB_ID;
  const r = await trainOpenClip(options, {
    ...(jobId ? { slurm: { jobId, host: hostname() } } : {}),
    onLine: (line) => process.stderr.write(`${line}\n`),
  });
  const cmd = [...Object.entries(r.command.env).map(([k, v]) => `${k}=${shellQuote(v)}`), ...r.command.argv.map(shellQuote)].join(' ');
  if (options.dryRun) {
    process.stdout.write(json ? JSON.stringify(r.command) + '\n' : `${cmd}\n`);
    if (!json && r.command.writes.length) info(`cliplab train: the run writes ${r.command.writes.join(', ')} before starting it`);
    return;
  }
  if (json) process.stdout.write(JSON.stringify(r) + '\n');
  else process.stdout.write(`done (OpenCLIP): ${r.steps} steps, ${r.samples_seen} samples, loss ${r.final_loss?.toFixed(4) ?? '-'}, ${r.images_per_s} img/s → ${r.model}\n`);
}
