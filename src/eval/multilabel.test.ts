// Multi-label zero-shot mAP end to end: a VOC 2007 layout and COCO instances read as CLIP_benchmark and
// torchvision read them, scored with a stub model whose logits are known; AP values worked by hand.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { colorIndex, indexColor, oneHot, stubModel, writeColorPng } from '../../test/support/stub-model.js';
import { evaluateMultiLabel, readCocoInstances, readVoc2007, VOC_CLASSES } from './multilabel.js';
import { readResults } from './result.js';

let root: string;
const C = VOC_CLASSES.length;
const cls = (n: string) => VOC_CLASSES.indexOf(n);
const model = () => stubModel({ id: 'stub', dim: C, classnames: VOC_CLASSES, textVector: (i) => oneHot(C, i), imageVector: (rgb) => oneHot(C, colorIndex(rgb)), info: { design: 'x', seed: 0, samplesSeen: 1 } });

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'cliplab-voc-'));
  const voc = join(root, 'VOCdevkit', 'VOC2007');
  mkdirSync(join(voc, 'ImageSets', 'Main'), { recursive: true });
  mkdirSync(join(voc, 'Annotations'), { recursive: true });
  // id → (objects, what the image looks like to the stub)
  const images: [string, string[], string][] = [['000001', ['cat', 'dog'], 'cat'], ['000002', ['dog'], 'dog'], ['000003', ['person'], 'cat'], ['000004', ['person', 'cat'], 'person']];
  writeFileSync(join(voc, 'ImageSets', 'Main', 'aeroplane_test.txt'), images.map(([id]) => `${id} -1`).join('\n') + '\n');
  writeFileSync(join(voc, 'ImageSets', 'Main', 'aeroplane_train.txt'), '000002 -1\n');
  for (const [id, objs, look] of images) {
    writeFileSync(join(voc, 'Annotations', `${id}.xml`), `<annotation><filename>${id}.jpg</filename>${objs.map((o) => `<object><name>${o}</name><difficult>0</difficult><bndbox><xmin>1</xmin></bndbox></object>`).join('')}</annotation>`);
    await writeColorPng(join(voc, 'JPEGImages', `${id}.jpg`), indexColor(cls(look)));
  }
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe('multi-label zero-shot', () => {
  it('VOC 2007: mAP over the classes with positives, tied scores as one threshold', async () => {
    const set = readVoc2007(root);
    expect(set.files).toHaveLength(4);
    expect(Array.from(set.targets.subarray(0, C)).flatMap((v, i) => (v ? [VOC_CLASSES[i]] : []))).toEqual(['cat', 'dog']);
    const warnings: string[] = [];
    const out = join(root, 'out', 'voc.json');
    const { result } = await evaluateMultiLabel({ evalModel: model(), set, decodeThreads: 0, onWarning: (w) => warnings.push(w), out });
    // cat: positives 1, 4; scores 100 for images 1, 3 → AP ½·½ + ½·(2/4) = 0.5. dog: positives 1, 2; 100 for 2 → ½·1 + ½·½ = 0.75.
    // person: positives 3, 4; 100 for 4 → 0.75.
    const ap = result.average_precision as Record<string, number | null>;
    expect(ap.cat).toBeCloseTo(0.5, 12);
    expect(ap.dog).toBeCloseTo(0.75, 12);
    expect(ap.person).toBeCloseTo(0.75, 12);
    expect(ap.aeroplane).toBeNull();
    expect((result.metrics as { mean_average_precision: number }).mean_average_precision).toBeCloseTo(2 / 3, 12);
    expect(result).toMatchObject({ dataset: 'voc2007_multilabel', task: 'zeroshot_classification', multilabel: true, n: 4 });
    expect(warnings.join('\n')).toMatch(/17 classes have no positive image/);
    expect(readResults([join(root, 'out')])).toEqual([]);
    expect(readVoc2007(root, 'train').files).toHaveLength(1);
    expect(() => readVoc2007(root, 'val')).toThrow(/no image list for split 'val'/);
  });

  it('COCO instances: categories by id, an image per row with every annotated category', () => {
    const f = join(root, 'instances_val.json');
    writeFileSync(f, JSON.stringify({
      images: [{ id: 7, file_name: 'b.jpg' }, { id: 3, file_name: 'a.jpg' }],
      categories: [{ id: 18, name: 'dog' }, { id: 17, name: 'cat' }, { id: 1, name: 'person' }],
      annotations: [{ image_id: 7, category_id: 18 }, { image_id: 7, category_id: 1 }, { image_id: 3, category_id: 17 }, { image_id: 7, category_id: 18 }],
    }));
    const s = readCocoInstances(f, '/img');
    expect(s.classnames).toEqual(['person', 'cat', 'dog']);
    expect(s.files).toEqual(['/img/a.jpg', '/img/b.jpg']);
    expect(Array.from(s.targets)).toEqual([0, 1, 0, 1, 0, 1]);
    writeFileSync(f, JSON.stringify({ images: [{ id: 1, file_name: 'a.jpg' }], categories: [{ id: 1, name: 'x' }], annotations: [{ image_id: 1, category_id: 9 }] }));
    expect(() => readCocoInstances(f, '/img')).toThrow(/annotations\[0\].*category_id 9/);
  });
});
