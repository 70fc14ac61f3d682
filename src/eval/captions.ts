// Image–caption sets for retrieval: COCO's captions format (what torchvision's CocoCaptions and CLIP_benchmark
// read: {images: [{id, file_name}], annotations: [{image_id, caption}]}) and the Karpathy-split format used for
// COCO and Flickr30k ({images: [{filename, filepath?, split, sentences: [{raw}]}]}, one split).
import { readFileSync, readdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { readTestbedManifest } from '../data/testbed/index.js';
import { InputError } from '../util/errors.js';

export interface CaptionedImage {
  file: string;
  captions: string[];
}

export interface CaptionSet {
  format: 'coco' | 'karpathy' | 'testbed';
  /** Dataset name when the set has one of its own (the testbed's: `<reference>-retrieval`). */
  name?: string;
  images: CaptionedImage[];
}

const isObj = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);

/** COCO: images in ascending id order (torchvision's `sorted(coco.imgs.keys())`), captions in annotation order. */
function readCoco(v: Record<string, unknown>, file: string, imagesDir: string): CaptionedImage[] {
  const images = v.images as unknown[];
  const anns = v.annotations;
  if (!Array.isArray(anns)) throw new InputError(file, 'COCO captions: no "annotations" list');
  const byId = new Map<number | string, { file: string; captions: string[] }>();
  images.forEach((im, i) => {
    if (!isObj(im) || (typeof im.id !== 'number' && typeof im.id !== 'string') || typeof im.file_name !== 'string')
      throw new InputError(`${file}: images[${i}]`, 'expected {id, file_name}');
    if (byId.has(im.id)) throw new InputError(`${file}: images[${i}]`, `duplicate image id ${im.id}`);
    byId.set(im.id, { file: join(imagesDir, im.file_name), captions: [] });
  });
  anns.forEach((a, i) => {
    if (!isObj(a) || typeof a.caption !== 'string') throw new InputError(`${file}: annotations[${i}]`, 'expected {image_id, caption}');
    const im = byId.get(a.image_id as number);
    if (!im) throw new InputError(`${file}: annotations[${i}]`, `image_id ${String(a.image_id)} is not among the images`);
    im.captions.push(a.caption);
  });
  const ids = [...byId.keys()].sort((a, b) => (typeof a === 'number' && typeof b === 'number' ? a - b : String(a) < String(b) ? -1 : String(a) > String(b) ? 1 : 0));
  return ids.map((id) => byId.get(id)!);
}

function readKarpathy(v: Record<string, unknown>, file: string, imagesDir: string, split: string): CaptionedImage[] {
  const out: CaptionedImage[] = [];
  (v.images as unknown[]).forEach((im, i) => {
    if (!isObj(im) || typeof im.filename !== 'string' || !Array.isArray(im.sentences))
      throw new InputError(`${file}: images[${i}]`, 'expected {filename, split, sentences: [{raw}]}');
    if (im.split !== split) return;
    const captions = (im.sentences as unknown[]).map((s, j) => {
      const raw = isObj(s) ? s.raw : undefined;
      if (typeof raw !== 'string') throw new InputError(`${file}: images[${i}].sentences[${j}]`, 'expected {raw: caption}');
      return raw;
    });
    out.push({ file: join(imagesDir, typeof im.filepath === 'string' ? im.filepath : '', im.filename), captions });
  });
  if (out.length === 0) throw new InputError(file, `no images in split '${split}'`);
  return out;
}

/** Reads a captions file (format by shape); `split` applies to the Karpathy format (default "test"). */
export function readCaptionSet(file: string, imagesDir: string, split = 'test'): CaptionSet {
  let v: unknown;
  try {
    v = JSON.parse(readFileSync(file, 'utf8'));
  } catch (e) {
    throw new InputError(file, `cannot read captions (${(e as Error).message})`);
  }
  if (!isObj(v) || !Array.isArray(v.images)) throw new InputError(file, 'expected COCO captions {images, annotations} or Karpathy {images: [{filename, split, sentences}]}');
  const dir = resolve(imagesDir);
  const first = v.images[0];
  const karpathy = isObj(first) && 'sentences' in first;
  const images = karpathy ? readKarpathy(v, file, dir, split) : readCoco(v, file, dir);
  if (images.length === 0) throw new InputError(file, 'no images');
  if (!images.some((im) => im.captions.length > 0)) throw new InputError(file, 'no captions');
  return { format: karpathy ? 'karpathy' : 'coco', images };
}

/**
 * The testbed's retrieval set: the first view (sorted) of every class of the reference eval set, captioned
 * from its concept's annotations the way the training sources caption (the CLDR name, its alt-text form, the
 * emojibase label with its group, and group / subgroup: label). One image per concept, so a caption names
 * exactly one image.
 */
export function testbedCaptionSet(tbDir: string): CaptionSet {
  const m = readTestbedManifest(tbDir);
  const ref = m.eval.find((e) => e.name === m.reference);
  if (!ref) throw new InputError(tbDir, `testbed.json lists no eval set for its reference '${m.reference}'`);
  const byDir = new Map(m.concepts.map((c) => [c.dir, c]));
  const root = join(resolve(tbDir), ref.dir);
  const images: CaptionedImage[] = [];
  for (const dir of readdirSync(root, { withFileTypes: true }).filter((d) => d.isDirectory()).map((d) => d.name).sort()) {
    const c = byDir.get(dir);
    if (!c) throw new InputError(join(root, dir), 'class folder is not a concept of testbed.json');
    const first = readdirSync(join(root, dir)).filter((f) => f.endsWith('.png')).sort()[0];
    if (first === undefined) continue;
    images.push({ file: join(root, dir, first), captions: [c.name, `${c.name} emoji`, `${c.label}, ${c.group}`, `${c.group} / ${c.subgroup}: ${c.label}`] });
  }
  if (images.length === 0) throw new InputError(root, 'no images');
  return { format: 'testbed', name: `${m.reference}-retrieval`, images };
}
