// Multi-label zero-shot classification scored by mean average precision: COCO's categories from its instance
// annotations, and PASCAL VOC 2007 as CLIP_benchmark's voc2007_multilabel reads it (the split's image ids,
// every object of each image's annotation, the 20 raw category names, "a photo of a {c}.").
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { InputError } from '../util/errors.js';
import { multiLabelMeanAveragePrecision } from './average-precision.js';
import { imageFeatures } from './features.js';
import { ZERO_SHOT_LOGIT_SCALE } from './score.js';
import { taskResult, withTaskModel, writeTaskResult, type TaskModelOptions } from './task-eval.js';
import { loadTemplates, type TemplateSet } from './templates.js';
import { zeroShotHead } from './zeroshot-head.js';

export interface MultiLabelSet {
  name: string;
  classnames: string[];
  files: string[];
  /** [files, classes] 0/1. */
  targets: Uint8Array;
}

export const VOC_CLASSES = [
  'aeroplane', 'bicycle', 'bird', 'boat', 'bottle', 'bus', 'car', 'cat', 'chair', 'cow',
  'diningtable', 'dog', 'horse', 'motorbike', 'person', 'pottedplant', 'sheep', 'sofa', 'train', 'tvmonitor',
];

const isObj = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);

/** COCO instances: images by ascending id (torchvision's CocoDetection), categories by ascending id. */
export function readCocoInstances(file: string, imagesDir: string): MultiLabelSet {
  let v: unknown;
  try {
    v = JSON.parse(readFileSync(file, 'utf8'));
  } catch (e) {
    throw new InputError(file, `cannot read annotations (${(e as Error).message})`);
  }
  if (!isObj(v) || !Array.isArray(v.images) || !Array.isArray(v.annotations) || !Array.isArray(v.categories))
    throw new InputError(file, 'expected COCO instances {images, annotations, categories}');
  const cats = (v.categories as unknown[]).map((c, i) => {
    if (!isObj(c) || typeof c.id !== 'number' || typeof c.name !== 'string') throw new InputError(`${file}: categories[${i}]`, 'expected {id, name}');
    return { id: c.id, name: c.name };
  }).sort((a, b) => a.id - b.id);
  const col = new Map(cats.map((c, i) => [c.id, i]));
  const imgs = (v.images as unknown[]).map((im, i) => {
    if (!isObj(im) || typeof im.id !== 'number' || typeof im.file_name !== 'string') throw new InputError(`${file}: images[${i}]`, 'expected {id, file_name}');
    return { id: im.id, file: join(resolve(imagesDir), im.file_name) };
  }).sort((a, b) => a.id - b.id);
  const row = new Map(imgs.map((im, i) => [im.id, i]));
  const C = cats.length;
  const targets = new Uint8Array(imgs.length * C);
  (v.annotations as unknown[]).forEach((a, i) => {
    if (!isObj(a)) throw new InputError(`${file}: annotations[${i}]`, 'expected {image_id, category_id}');
    const r = row.get(a.image_id as number);
    const c = col.get(a.category_id as number);
    if (r === undefined) throw new InputError(`${file}: annotations[${i}]`, `image_id ${String(a.image_id)} is not among the images`);
    if (c === undefined) throw new InputError(`${file}: annotations[${i}]`, `category_id ${String(a.category_id)} is not among the categories`);
    targets[r * C + c] = 1;
  });
  return { name: basename(file).replace(/\.json$/i, ''), classnames: cats.map((c) => c.name), files: imgs.map((im) => im.file), targets };
}

/** VOC 2007 under ROOT (ROOT/VOCdevkit/VOC2007, ROOT/VOC2007 or ROOT itself): the split's ids, each object's class. */
export function readVoc2007(root: string, split = 'test'): MultiLabelSet {
  const base = [join(root, 'VOCdevkit', 'VOC2007'), join(root, 'VOC2007'), root].find((d) => existsSync(join(d, 'ImageSets', 'Main')));
  if (!base) throw new InputError(root, 'no VOC 2007 here (expected VOCdevkit/VOC2007/ImageSets/Main)');
  const list = join(base, 'ImageSets', 'Main', `${VOC_CLASSES[0]}_${split}.txt`);
  if (!existsSync(list)) throw new InputError(list, `no image list for split '${split}'`);
  const ids = readFileSync(list, 'utf8').split('\n').map((l) => l.trim().split(/\s+/)[0]!).filter((id) => id !== '');
  const C = VOC_CLASSES.length;
  const targets = new Uint8Array(ids.length * C);
  ids.forEach((id, r) => {
    const xml = join(base, 'Annotations', `${id}.xml`);
    if (!existsSync(xml)) throw new InputError(xml, `no annotation for image ${id}`);
    for (const m of readFileSync(xml, 'utf8').matchAll(/<object>[\s\S]*?<name>\s*([^<]*?)\s*<\/name>/g)) {
      const c = VOC_CLASSES.indexOf(m[1]!);
      if (c < 0) throw new InputError(xml, `unknown VOC class '${m[1]}'`);
      targets[r * C + c] = 1;
    }
  });
  return { name: 'voc2007_multilabel', classnames: [...VOC_CLASSES], files: ids.map((id) => join(base, 'JPEGImages', `${id}.jpg`)), targets };
}

/** CLIP_benchmark's one template for VOC 2007, in cliplab's `{}` form. */
const PHOTO: TemplateSet = { name: 'a photo of a {}.', templates: ['a photo of a {}.'], hash: createHash('sha256').update('a photo of a {}.').digest('hex').slice(0, 16) };

export interface MultiLabelEvalOptions extends TaskModelOptions {
  set: MultiLabelSet;
  /** Default CLIP_benchmark's "a photo of a {c}." */
  templates?: string;
}

export async function evaluateMultiLabel(o: MultiLabelEvalOptions): Promise<{ result: Record<string, unknown>; files: string[]; warnings: string[] }> {
  const { set } = o;
  const templates = o.templates !== undefined ? loadTemplates(o.templates) : PHOTO;
  return withTaskModel(o, async ({ model, id, pool, warn, warnings }) => {
    const img = await imageFeatures(set.name, model, set.files, pool, o.batchSize ?? 128, o.onImages);
    if (img.kept.length === 0) throw new InputError(set.name, `no readable images (first: ${img.skipped[0]?.file}: ${img.skipped[0]?.reason})`);
    if (img.skipped.length) warn(`${set.name}: ${img.skipped.length} of ${set.files.length} images unreadable, skipped; first: ${img.skipped[0]!.file}: ${img.skipped[0]!.reason}`);
    const head = await zeroShotHead({ model, classnames: set.classnames, templates, where: set.name });
    const C = set.classnames.length;
    const D = model.embedDim;
    const n = img.kept.length;
    const scores = new Float32Array(n * C);
    const targets = new Uint8Array(n * C);
    for (let r = 0; r < n; r++) {
      targets.set(set.targets.subarray(img.kept[r]! * C, (img.kept[r]! + 1) * C), r * C);
      for (let c = 0; c < C; c++) {
        let s = 0;
        for (let j = 0; j < D; j++) s += img.features[r * D + j]! * head.weights[c * D + j]!;
        scores[r * C + c] = ZERO_SHOT_LOGIT_SCALE * s;
      }
    }
    const m = multiLabelMeanAveragePrecision(scores, targets, C);
    if (m.classes < C) warn(`${set.name}: ${C - m.classes} classes have no positive image; mAP is over the other ${m.classes}`);
    const perClass = Object.fromEntries(set.classnames.map((name, c) => [name, Number.isNaN(m.perClass[c]!) ? null : m.perClass[c]!]));
    const result = taskResult(id, set.name, 'zeroshot_classification', { mean_average_precision: m.map }, {
      multilabel: true,
      n,
      n_skipped: img.skipped.length,
      classes: { id: `${set.name}-${C}`, count: C },
      average_precision: perClass,
    }, { templates: { name: templates.name, count: templates.templates.length, sha256_16: templates.hash }, logit_scale: ZERO_SHOT_LOGIT_SCALE });
    return { result, files: await writeTaskResult(o.out, result), warnings };
  });
}
