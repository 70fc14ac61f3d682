// Retrieval recall@k on hand-worked embeddings, and the captions readers (COCO and Karpathy formats).
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { readCaptionSet } from './captions.js';
import { retrievalRecall } from './retrieval.js';

const unit = (deg: number) => [Math.cos((deg * Math.PI) / 180), Math.sin((deg * Math.PI) / 180)];

describe('retrievalRecall', () => {
  it('counts a text hit when its image is in the top k, an image hit when any of its texts is', () => {
    // Images at 0°, 90°, 180°. Texts: t0 (img 0) at 10°, t1 (img 0) at 170°, t2 (img 1) at 80°, t3 (img 2) at 100°, t4 (img 2) at 260°.
    const images = Float32Array.from([0, 90, 180].flatMap(unit));
    const texts = Float32Array.from([10, 170, 80, 100, 260].flatMap(unit));
    const m = retrievalRecall({ images, texts, dim: 2, textImage: [0, 0, 1, 2, 2] }, [1, 2, 3]);
    // Text → image, top-1: t0 → img0 ✓, t1 → img2 ✗ (rank 2: 180°, 90°, 0°… img0 at 170° away is last → rank 2),
    // t2 → img1 ✓, t3 → img1 ✗ (img2 at 80° is second), t4 → img2 ✓ (80° vs img1 at 170°, img0 at 100°).
    expect(m['image_retrieval_recall@1']).toBeCloseTo(3 / 5, 12);
    // Top-2: t1's img0 is third (ranks: img2, img1, img0) ✗; t3's img2 second ✓.
    expect(m['image_retrieval_recall@2']).toBeCloseTo(4 / 5, 12);
    expect(m['image_retrieval_recall@3']).toBe(1);
    // Image → text, top-1: img0's best text is t0 (10°) ✓; img1's best is t2 (10°) vs t3 (10°): tie → lower index t2, its own ✓;
    // img2 (180°): t1 at 10° (not its own) beats t3 (80°) and t4 (80°) ✗. Top-2: img2's t3 is tied with t4 behind t1 → rank 1 ✓.
    expect(m['text_retrieval_recall@1']).toBeCloseTo(2 / 3, 12);
    expect(m['text_retrieval_recall@2']).toBe(1);
  });

  it('an image without captions is never a hit; a k above the set size retrieves everything', () => {
    const images = Float32Array.from([0, 90].flatMap(unit));
    const texts = Float32Array.from([0].flatMap(unit));
    const m = retrievalRecall({ images, texts, dim: 2, textImage: [0] }, [1, 10]);
    expect(m['text_retrieval_recall@1']).toBe(0.5);
    expect(m['text_retrieval_recall@10']).toBe(0.5);
    expect(m['image_retrieval_recall@10']).toBe(1);
    expect(() => retrievalRecall({ images, texts, dim: 2, textImage: [2] })).toThrow(/points at image 2/);
  });
});

describe('readCaptionSet', () => {
  const dir = mkdtempSync(join(tmpdir(), 'cliplab-captions-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('COCO: images by ascending id, captions in annotation order', () => {
    const f = join(dir, 'captions_val2017.json');
    writeFileSync(f, JSON.stringify({
      images: [{ id: 9, file_name: 'b.jpg' }, { id: 3, file_name: 'a.jpg' }],
      annotations: [{ image_id: 9, caption: 'b one' }, { image_id: 3, caption: 'a one' }, { image_id: 9, caption: 'b two' }],
    }));
    const s = readCaptionSet(f, '/imgs');
    expect(s.format).toBe('coco');
    expect(s.images).toEqual([{ file: '/imgs/a.jpg', captions: ['a one'] }, { file: '/imgs/b.jpg', captions: ['b one', 'b two'] }]);
  });

  it('Karpathy: one split, filepath/filename under the images folder', () => {
    const f = join(dir, 'dataset_coco.json');
    writeFileSync(f, JSON.stringify({
      images: [
        { filepath: 'val2014', filename: 'x.jpg', split: 'test', sentences: [{ raw: 'x 1' }, { raw: 'x 2' }] },
        { filepath: 'val2014', filename: 'y.jpg', split: 'train', sentences: [{ raw: 'y' }] },
        { filename: 'z.jpg', split: 'test', sentences: [{ raw: 'z' }] },
      ],
    }));
    expect(readCaptionSet(f, '/c').images).toEqual([{ file: '/c/val2014/x.jpg', captions: ['x 1', 'x 2'] }, { file: '/c/z.jpg', captions: ['z'] }]);
    expect(readCaptionSet(f, '/c', 'train').images).toHaveLength(1);
    expect(() => readCaptionSet(f, '/c', 'val')).toThrow(/no images in split 'val'/);
  });

  it('names what is wrong with a bad file', () => {
    const f = join(dir, 'bad.json');
    writeFileSync(f, JSON.stringify({ images: [{ id: 1, file_name: 'a.jpg' }], annotations: [{ image_id: 2, caption: 'x' }] }));
    expect(() => readCaptionSet(f, '/i')).toThrow(/annotations\[0\].*image_id 2 is not among the images/);
    writeFileSync(f, '[1, 2]');
    expect(() => readCaptionSet(f, '/i')).toThrow(/expected COCO captions/);
  });
});
