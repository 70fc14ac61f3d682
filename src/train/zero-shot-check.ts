// A quick zero-shot top-1 check of trained weights on one ImageFolder (class dirs + classnames.json, as the
// testbed writes them), for training tests and docs; `cliplab eval` is the full evaluator.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { InputError } from '../util/errors.js';
import { ClipEncoders, normalizeRows } from '../models/encoders.js';
import { preprocessImage } from '../data/images/transform.js';
import { getTokenizer } from '../data/tokenizer/index.js';
import type { ClipArch } from '../models/arch.js';

export interface ZeroShotCheckOptions {
  cfg: ClipArch;
  weights: Map<string, Float32Array>;
  /** ImageFolder: one directory per class, `classes.json` ([{dir}]) and `classnames.json` in the same order. */
  folder: string;
  /** Prompt with `{}` for the class name; default "an emoji of {}." */
  template?: string;
  threads?: number;
}

export interface ZeroShotCheck {
  acc1: number;
  n: number;
  classes: number;
  /** 1 / classes. */
  chance: number;
}

export async function zeroShotCheck(o: ZeroShotCheckOptions): Promise<ZeroShotCheck> {
  const dirs = JSON.parse(readFileSync(join(o.folder, 'classes.json'), 'utf8')) as { dir: string }[];
  const names = JSON.parse(readFileSync(join(o.folder, 'classnames.json'), 'utf8')) as string[];
  if (dirs.length !== names.length) throw new InputError(o.folder, 'classes.json and classnames.json differ in length');
  const S = o.cfg.vision_cfg.image_size;
  const plane = 3 * S * S;
  const files: { path: string; label: number }[] = [];
  dirs.forEach((d, label) => {
    const dir = join(o.folder, d.dir);
    if (!existsSync(dir)) return;
    for (const f of readdirSync(dir).sort()) if (/\.(png|jpe?g|webp)$/i.test(f)) files.push({ path: join(dir, f), label });
  });
  if (files.length === 0) throw new InputError(o.folder, 'no images');
  const enc = await ClipEncoders.create(o.cfg, o.weights, { threads: o.threads });
  try {
    const D = enc.embedDim;
    const prompts = names.map((n) => (o.template ?? 'an emoji of {}.').replace('{}', n));
    const textEmb = normalizeRows(await enc.encodeTexts(getTokenizer().tokenize(prompts, o.cfg.text_cfg.context_length), prompts.length), D);
    let correct = 0;
    const chunk = 64;
    for (let i = 0; i < files.length; i += chunk) {
      const part = files.slice(i, i + chunk);
      const images = new Float32Array(part.length * plane);
      for (const [j, f] of part.entries()) await preprocessImage(readFileSync(f.path), { size: S, mode: 'eval' }, undefined, images, j * plane);
      const img = normalizeRows(await enc.encodeImages(images, part.length), D);
      for (const [j, f] of part.entries()) {
        let best = -1;
        let arg = -1;
        for (let c = 0; c < names.length; c++) {
          let s = 0;
          for (let k = 0; k < D; k++) s += img[j * D + k]! * textEmb[c * D + k]!;
          if (s > best) [best, arg] = [s, c];
        }
        if (arg === f.label) correct++;
      }
    }
    return { acc1: correct / files.length, n: files.length, classes: names.length, chance: 1 / names.length };
  } finally {
    await enc.release();
  }
}
