// `cliplab export onnx`: the two encoders as standalone ONNX files with the weights inside.
import { join } from 'node:path';
import { withDirLock } from '../util/dir-lock.js';
import { writeFileAtomic, writeJsonAtomic } from '../util/fs.js';
import { toOnnxBytes } from '../graph/index.js';
import { imageEncoderGraph, textEncoderGraph, IMAGE_INPUT, IMAGE_OUTPUT, TEXT_INPUT, TEXT_OUTPUT } from './encoders.js';
import type { LoadedModel } from './load.js';

export interface ExportedFiles {
  image: string;
  text: string;
  config: string;
}

export async function exportOnnx(model: LoadedModel, outDir: string): Promise<ExportedFiles> {
  return withDirLock(outDir, 'export', () => exportLocked(model, outDir));
}

async function exportLocked(model: LoadedModel, outDir: string): Promise<ExportedFiles> {
  const files = { image: join(outDir, 'image_encoder.onnx'), text: join(outDir, 'text_encoder.onnx'), config: join(outDir, 'config.json') };
  await writeFileAtomic(files.image, toOnnxBytes(imageEncoderGraph(model.config, model.weights)));
  await writeFileAtomic(files.text, toOnnxBytes(textEncoderGraph(model.config, model.weights)));
  await writeJsonAtomic(files.config, {
    model_config: model.config,
    source: model.file,
    inputs: { image_encoder: IMAGE_INPUT, text_encoder: TEXT_INPUT },
    outputs: { image_encoder: IMAGE_OUTPUT, text_encoder: TEXT_OUTPUT },
    note: 'images: float32 [N,3,S,S] normalized with CLIP mean/std; text: int64 [N,context_length] token ids; outputs are unnormalized embeddings',
    logit_scale: Math.exp(model.weights.get('logit_scale')?.[0] ?? Math.log(1 / 0.07)),
  });
  return files;
}
