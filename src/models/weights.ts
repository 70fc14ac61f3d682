// One entry point for reading model weights from a file, whatever wrote it: safetensors (plain or gzip) or a
// PyTorch `torch.save` checkpoint (.pt/.bin), told apart by their first bytes rather than by the file name.
import { open } from 'node:fs/promises';
import { InputError } from '../util/errors.js';
import { readSafetensors, type SafetensorsFile } from './safetensors.js';
import { isTorchZip, readTorchCheckpoint } from './torch-read.js';

export async function readWeights(path: string): Promise<SafetensorsFile> {
  const head = new Uint8Array(4);
  try {
    const fh = await open(path, 'r');
    try {
      await fh.read(head, 0, 4, 0);
    } finally {
      await fh.close();
    }
  } catch (err) {
    throw new InputError(path, `cannot read weights file: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  if (isTorchZip(head)) return readTorchCheckpoint(path);
  // torch.save's format before PyTorch 1.6: a bare pickle stream (protocol 2, then a LONG1 magic number).
  if (head[0] === 0x80 && head[1] === 0x02 && head[2] === 0x8a)
    throw new InputError(path, "a legacy torch.save file (PyTorch < 1.6); re-save it with a current torch.save (the zip format)");
  return readSafetensors(path);
}
