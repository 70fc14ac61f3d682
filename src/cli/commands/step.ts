// `cliplab step`: one training step on a fixed batch, writing forward outputs, gradients and updated state.
import type { Command } from 'commander';
import { InputError } from '../../util/errors.js';
import { loadModelConfig } from '../../models/config.js';
import { readSafetensors, writeSafetensors } from '../../models/safetensors.js';
import { parityStep } from '../../train/parity-step.js';
import { numFlag, intFlag } from '../args.js';

interface Flags {
  model: string;
  weights: string;
  batch: string;
  out: string;
  lr?: string;
  beta1?: string;
  beta2?: string;
  eps?: string;
  wd?: string;
  threads?: string;
}

export function register(program: Command): void {
  program
    .command('step')
    .description('one training step (ClipLoss + AdamW) on a fixed batch; writes forward.*, grad.* and the updated state')
    .requiredOption('--model <config>', 'model config name or JSON file')
    .requiredOption('--weights <file>', 'safetensors state_dict (OpenCLIP names)')
    .requiredOption('--batch <file>', 'safetensors with `images` (F32 NCHW, normalized) and `text` (I64 token ids)')
    .requiredOption('--out <file>', 'output safetensors')
    .option('--lr <x>', 'learning rate (default 1e-3)')
    .option('--beta1 <x>', 'AdamW beta1 (default 0.9)')
    .option('--beta2 <x>', 'AdamW beta2 (default 0.98)')
    .option('--eps <x>', 'AdamW eps (default 1e-6)')
    .option('--wd <x>', 'weight decay (default 0.2)')
    .option('--threads <t>', 'intra-op threads')
    .action(async (f: Flags) => {
      const cfg = loadModelConfig(f.model);
      const weights = await readSafetensors(f.weights);
      const batch = await readSafetensors(f.batch);
      for (const k of ['images', 'text']) if (!batch.tensors.has(k)) throw new InputError(f.batch, `no tensor '${k}'`);
      const prob = (n: number) => n >= 0 && n < 1;
      const out = await parityStep(
        cfg,
        f.weights,
        weights.tensors,
        f.batch,
        { images: batch.tensors.get('images')!, text: batch.tensors.get('text')! },
        {
          lr: numFlag('--lr', f.lr, 1e-3, (n) => n >= 0, 'a learning rate >= 0'),
          beta1: numFlag('--beta1', f.beta1, 0.9, prob, 'a number in [0, 1)'),
          beta2: numFlag('--beta2', f.beta2, 0.98, prob, 'a number in [0, 1)'),
          eps: numFlag('--eps', f.eps, 1e-6, (n) => n > 0, 'a positive number'),
          weightDecay: numFlag('--wd', f.wd, 0.2, (n) => n >= 0, 'a number >= 0'),
        },
        { threads: f.threads ? intFlag('--threads', f.threads, 0) : undefined },
      );
      await writeSafetensors(f.out, out, { producer: 'cliplab step', model: f.model });
    });
}
