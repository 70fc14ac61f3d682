// `cliplab export onnx --model RUN|CKPT --out DIR`: image and text encoders as ONNX files plain onnxruntime loads.
import type { Command } from 'commander';
import { loadClipModel } from '../../models/load.js';
import { exportOnnx } from '../../models/export.js';

export function register(program: Command): void {
  const exp = program.command('export').description('export a model to other formats');
  exp
    .command('onnx')
    .description('write image_encoder.onnx and text_encoder.onnx (weights inside) and config.json to DIR')
    .requiredOption('--model <path>', 'run directory or checkpoint (.safetensors)')
    .requiredOption('--out <dir>', 'output directory')
    .option('--model-config <file>', 'model config, if none is beside the checkpoint')
    .option('--json', 'print the written paths as JSON')
    .action(async (f: { model: string; out: string; modelConfig?: string; json?: boolean }) => {
      const files = await exportOnnx(await loadClipModel(f.model, f.modelConfig), f.out);
      process.stdout.write(f.json ? JSON.stringify(files) + '\n' : `${files.image}\n${files.text}\n`);
    });
}
