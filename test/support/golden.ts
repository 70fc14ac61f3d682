// Paths to the golden OpenCLIP v2.20.0 fixtures shipped in test/fixtures/golden (tensors, tokenizer
// cases, configs, class lists). Parity tests read them unconditionally: a missing file fails the test.
import { fileURLToPath } from 'node:url';

export const GOLDEN_DIR = fileURLToPath(new URL('../fixtures/golden/', import.meta.url));

/** Absolute path of a golden fixture, e.g. `golden('clip-vit-tiny', 'init.safetensors.gz')`. */
export function golden(...parts: string[]): string {
  return fileURLToPath(new URL(`../fixtures/golden/${parts.join('/')}`, import.meta.url));
}
