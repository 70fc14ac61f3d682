// Perceptual hashing and the hash index: hand-checked bits and distances; crops, re-encodes and resizes of
// generated scenes stay within the default radius of their original while unrelated scenes do not; the
// multi-index search returns exactly what a linear scan does.
import { describe, expect, it } from 'vitest';
import { mkdtempSync, mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Rng } from '../../util/rng.js';
import { scene, variant, VARIANTS } from '../../../test/support/scenes.js';
import { PerceptualHashIndex } from './hash-index.js';
import { ReferenceSet } from './hash-sets.js';
import { hammingDistance, perceptualHash, phashFromHex, phashOfGrey, phashToHex, popcount32, type PHash } from './phash.js';

describe('perceptual hash', () => {
  it('counts bits and distances; hex round-trips', () => {
    expect(popcount32(0)).toBe(0);
    expect(popcount32(0xffffffff)).toBe(32);
    expect(popcount32(0x80000001)).toBe(2);
    const a = phashFromHex('ffffffff00000000');
    const b = phashFromHex('0000000000000001');
    expect(hammingDistance(a, b)).toBe(33);
    expect(phashToHex(a)).toBe('ffffffff00000000');
    expect(() => phashFromHex('xyz')).toThrow(/64-bit hex/);
  });

  it('sets the bits of the low frequencies above their median (an image built from chosen DCT coefficients)', () => {
    // px = Σ_{j,k<8} a_jk cos(π(2y+1)j/64) cos(π(2x+1)k/64): its DCT coefficient (j, k) is a_jk times a positive
    // constant, so the bits set are exactly those with a_jk > 0. a = index − 31.5: the last 32 (the low word).
    const basis = (k: number, n: number) => Math.cos((Math.PI * (2 * n + 1) * k) / 64);
    const image = (a: (j: number, k: number) => number) => {
      const px = new Float64Array(32 * 32);
      for (let y = 0; y < 32; y++) for (let x = 0; x < 32; x++) for (let j = 0; j < 8; j++) for (let k = 0; k < 8; k++) px[y * 32 + x] += a(j, k) * basis(j, y) * basis(k, x);
      return px;
    };
    expect(phashOfGrey(image((j, k) => j * 8 + k - 31.5))).toEqual({ hi: 0, lo: 0xffffffff });
    // Even coefficients positive: bits 0, 2, 4, … (counted from the high bit) → 0xaaaaaaaa in both words.
    expect(phashOfGrey(image((j, k) => ((j * 8 + k) % 2 === 0 ? 1 + j + k : -1 - j - k)))).toEqual({ hi: 0xaaaaaaaa, lo: 0xaaaaaaaa });
  });

  it('finds crops, re-encodes and resizes of a reference image, and no unrelated image', async () => {
    const refs = new ReferenceSet();
    const originals = await Promise.all(Array.from({ length: 12 }, (_, i) => scene(i)));
    for (const [i, b] of originals.entries()) await refs.add(`eval/${i}.png`, b);
    for (const v of VARIANTS) {
      for (let i = 0; i < originals.length; i++) {
        const m = await refs.match(await variant(originals[i]!, v));
        expect(m?.label, `${v} of scene ${i}`).toBe(`eval/${i}.png`);
      }
    }
    for (let i = 0; i < 60; i++) expect(await refs.match(await scene(1000 + i)), `unrelated scene ${1000 + i}`).toBeNull();
  });

  it('refuses undecodable bytes with ImageDecodeError', async () => {
    await expect(perceptualHash(new Uint8Array([1, 2, 3]))).rejects.toMatchObject({ name: 'ImageDecodeError', reason: 'corrupt' });
  });
});

describe('hash index', () => {
  it('returns exactly the hashes a linear scan finds, for every radius', () => {
    const rng = new Rng(3);
    const stored: PHash[] = [];
    const idx = new PerceptualHashIndex();
    for (let i = 0; i < 3000; i++) {
      // Clusters: some hashes are near copies of earlier ones (a few bits flipped).
      let h: PHash = { hi: rng.nextU32(), lo: rng.nextU32() };
      if (i > 0 && rng.int(3) === 0) {
        h = { ...stored[rng.int(stored.length)]! };
        for (let k = rng.int(12); k > 0; k--) {
          const bit = rng.int(64);
          if (bit < 32) h.hi = (h.hi ^ (1 << bit)) >>> 0;
          else h.lo = (h.lo ^ (1 << (bit - 32))) >>> 0;
        }
      }
      stored.push(h);
      expect(idx.add(h)).toBe(i);
    }
    for (const d of [0, 3, 4, 7, 10, 15, 16, 20]) {
      for (let q = 0; q < 60; q++) {
        const h = stored[rng.int(stored.length)]!;
        const want = stored
          .map((s, index) => ({ index, distance: hammingDistance(s, h) }))
          .filter((m) => m.distance <= d)
          .sort((a, b) => a.distance - b.distance || a.index - b.index);
        expect(idx.within(h, d), `d=${d}`).toEqual(want);
        expect(idx.nearest(h, d)).toEqual(want[0] ?? null);
      }
    }
  });

  it('adds an ImageFolder, labelled by relative path, counting unreadable files', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'cliplab-phash-'));
    mkdirSync(join(dir, 'cat'));
    mkdirSync(join(dir, 'dog'));
    writeFileSync(join(dir, 'cat', 'b.png'), await scene(1));
    writeFileSync(join(dir, 'cat', 'a.png'), await scene(2));
    writeFileSync(join(dir, 'dog', 'c.jpg'), Buffer.from('not a jpeg'));
    writeFileSync(join(dir, 'dog', 'notes.txt'), 'ignored');
    const set = await new ReferenceSet().addImageFolder(dir, 'val/');
    expect(set.labels).toEqual([`val/${join('cat', 'a.png')}`, `val/${join('cat', 'b.png')}`]);
    expect(set.unreadable).toBe(1);
    expect((await set.match(await variant(await scene(1), 'cornerCrop')))?.label).toBe(`val/${join('cat', 'b.png')}`);
  });
});
