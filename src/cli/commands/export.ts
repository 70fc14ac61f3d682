// `cliplab export onnx --model RUN|CKPT --out DIR`: image and text encoders as ONNX files plain onnxruntime loads;
// `cliplab export pt --model RUN|CKPT --out FILE.pt`: a torch.save checkpoint (+ config.json) for OpenCLIP.
import type { Command } from 'commander';
import { writeCheckpoint } from '../../models/checkpoint.js';
import { loadClipModel, loadStateDict } from '../../models/load.js';
import { exportOnnx } from '../../models/export.js';
import { InputError } from '../../util/errors.js';

export function register(program: Command): void {
  const exp = program.command('export').description('export a model to other formats');
  exp
    .command('onnx')
    .description('write image_encoder.onnx and text_encoder.onnx (weights inside) and config.json to DIR')
    .requiredOption('--model <path>', 'run directory or checkpoint (.safetensors or .pt)')
    .requiredOption('--out <dir>', 'output directory')
    .option('--model-config <file>', 'model config, if none is beside the checkpoint')
    .option('--json', 'print the written paths as JSON')
    .action(async (f: { model: string; out: string; modelConfig?: string; json?: boolean }) => {
      const files = await exportOnnx(await loadClipModel(f.model, f.modelConfig), f.out);
      process.stdout.write(f.json ? JSON.stringify(files) + '\n' : `${files.image}\n${files.text}\n`);
    });
  exp
    .command('pt')
    .description("write a torch.save checkpoint OpenCLIP's load_checkpoint reads ({'epoch', 'name', 'state_dict'}) and config.json beside it")
    .requiredOption('--model <path>', 'run directory or checkpoint (.safetensors or .pt)')
    .requiredOption('--out <file.pt>', 'output file (config.json is written beside it)')
    .option('--model-config <file>', 'model config, if none is beside the checkpoint')
    .option('--json', 'print the written paths as JSON')
    .action(async (f: { model: string; out: string; modelConfig?: string; json?: boolean }) => {
      if (!f.out.endsWith('.pt')) throw new InputError('--out', `expected a .pt file name, got '${f.out}'`);
      const { config, tensors } = await loadStateDict(f.model, f.modelConfig);
      const file = await writeCheckpoint(f.out, tensors, config, { name: 'cliplab-export' });
      process.stdout.write(f.json ? JSON.stringify({ weights: file }) + '\n' : `${file}\n`);
    });
}
