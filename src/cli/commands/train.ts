// `cliplab train`: train or fine-tune a CLIP model on shard directories into a run directory (src/train/loop.ts).
import type { Command } from 'commander';
import { trainClip, type TrainOptions } from '../../train/loop.js';
import { InputError } from '../../util/errors.js';
import { info } from '../../util/log.js';
import { progress, type Progress } from '../../util/progress.js';
import { choiceFlag, intFlag, numFlag } from '../args.js';

interface Flags {
  data?: string;
  proportions?: string;
  model?: string;
  out: string;
  samples?: string;
  epochs?: string;
  batchSize?: string;
  lr?: string;
  warmup?: string;
  wd?: string;
  beta1?: string;
  beta2?: string;
  eps?: string;
  gradClip?: string;
  lockImage?: boolean;
  lockText?: boolean;
  cropScale?: string;
  init?: string;
  resume?: boolean;
  seed?: string;
  threads?: string;
  workers?: string;
  device?: string;
  spin?: boolean;
  checkpointEvery?: string;
  stopAfter?: string;
  json?: boolean;
}

const opt = <T>(v: string | undefined, parse: (v: string) => T): T | undefined => (v === undefined ? undefined : parse(v));

function numList(flag: string, value: string): number[] {
  return value.split(',').map((x) => numFlag(flag, x, NaN, (n) => Number.isFinite(n), 'comma-separated numbers'));
}

export function toTrainOptions(f: Flags): TrainOptions {
  const prob = (n: number) => n >= 0 && n < 1;
  const crop = opt(f.cropScale, (v) => numList('--crop-scale', v));
  if (crop && crop.length !== 2) throw new InputError('--crop-scale', `expected lo,hi, got '${f.cropScale}'`);
  return {
    data: opt(f.data, (v) => v.split(',').filter((s) => s.length > 0)),
    proportions: opt(f.proportions, (v) => numList('--proportions', v)),
    model: f.model,
    out: f.out,
    samples: opt(f.samples, (v) => intFlag('--samples', v, 0)),
    epochs: opt(f.epochs, (v) => intFlag('--epochs', v, 0)),
    batchSize: opt(f.batchSize, (v) => intFlag('--batch-size', v, 0)),
    lr: opt(f.lr, (v) => numFlag('--lr', v, 0, (n) => n >= 0, 'a learning rate >= 0')),
    warmup: opt(f.warmup, (v) => intFlag('--warmup', v, 0, 0)),
    weightDecay: opt(f.wd, (v) => numFlag('--wd', v, 0, (n) => n >= 0, 'a number >= 0')),
    beta1: opt(f.beta1, (v) => numFlag('--beta1', v, 0, prob, 'a number in [0, 1)')),
    beta2: opt(f.beta2, (v) => numFlag('--beta2', v, 0, prob, 'a number in [0, 1)')),
    eps: opt(f.eps, (v) => numFlag('--eps', v, 0, (n) => n > 0, 'a positive number')),
    gradClip: opt(f.gradClip, (v) => numFlag('--grad-clip', v, 0, (n) => n > 0, 'a positive number')),
    lockImage: f.lockImage,
    lockText: f.lockText,
    cropScale: crop as [number, number] | undefined,
    init: f.init,
    resume: f.resume,
    seed: opt(f.seed, (v) => intFlag('--seed', v, 0, 0)),
    threads: opt(f.threads, (v) => intFlag('--threads', v, 0)),
    workers: opt(f.workers, (v) => intFlag('--workers', v, 0, 0)),
    device: opt(f.device, (v) => choiceFlag('--device', v, ['cpu', 'cuda'] as const, 'cpu')),
    spinning: f.spin,
    checkpointEvery: opt(f.checkpointEvery, (v) => intFlag('--checkpoint-every', v, 0, 0)),
    stopAfterStep: opt(f.stopAfter, (v) => intFlag('--stop-after', v, 0)),
  };
}

export function register(program: Command): void {
  program
    .command('train')
    .description('train CLIP (from scratch or --init to fine-tune) on shard directories; resumable (see docs/training.md)')
    .option('--data <dirs>', 'shard directories, comma-separated (one source each); required unless --resume')
    .option('--proportions <a,b,…>', 'mixing proportions of the --data sources (default equal)')
    .option('--model <name|json>', 'model config name or OpenCLIP JSON file (default: the config beside --init)')
    .requiredOption('--out <run>', 'run directory')
    .option('--samples <n>', "samples per epoch, OpenCLIP's --train-num-samples (default: the dataset's size)")
    .option('--epochs <n>', 'epochs (default 1); steps = epochs × ceil(samples / batch size)')
    .option('--batch-size <b>', 'batch size (default 128)')
    .option('--lr <x>', 'peak learning rate (default 5e-4)')
    .option('--warmup <n>', 'linear warmup steps before the cosine decay (default 10% of the steps)')
    .option('--wd <x>', 'AdamW weight decay on ≥2-D weights (default 0.2)')
    .option('--beta1 <x>', 'AdamW beta1 (default 0.9)')
    .option('--beta2 <x>', 'AdamW beta2 (default 0.98 ViT, 0.999 ResNet)')
    .option('--eps <x>', 'AdamW epsilon (default 1e-6 ViT, 1e-8 ResNet)')
    .option('--grad-clip <x>', 'clip the global gradient norm (default off)')
    .option('--lock-image', 'freeze the image tower (fine-tuning)')
    .option('--lock-text', 'freeze the text tower (fine-tuning)')
    .option('--crop-scale <lo,hi>', 'RandomResizedCrop area range (default 0.9,1)')
    .option('--init <ckpt>', 'start from this checkpoint (safetensors, OpenCLIP names; or a run directory)')
    .option('--resume', 'continue from RUN/checkpoints/latest.safetensors (settings from RUN/params.json)')
    .option('--seed <s>', 'random seed (default 0)')
    .option('--threads <t>', 'ORT intra-op threads (default: all cores)')
    .option('--workers <w>', 'extra decode threads for the data loader; 0 = decode on the loader thread itself (default 0 on cpu, cores − 2 with cuda; raise it when the step waits for data)')
    .option('--device <d>', 'cpu|cuda (default cpu)')
    .option('--spin', "let ORT's threads busy-wait between ops (default off: they would take the loader's cores)")
    .option('--checkpoint-every <n>', 'also write checkpoints/latest every n steps; 0 = per epoch only (default 200)')
    .option('--stop-after <n>', 'stop after step n with a resumable checkpoint (budgeted runs)')
    .option('--json', 'print the summary as JSON')
    .action(async (f: Flags) => {
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
        ...toTrainOptions(f),
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
