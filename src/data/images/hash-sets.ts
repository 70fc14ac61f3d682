// Reference sets for decontamination: images (an ImageFolder, or any the caller adds) hashed at every box
// of CROP_GRID into one searchable index, so that a training image that is a copy, a re-encode, a resize or
// a crop of a reference image is found by its single whole-image hash.
import { promises as fsp } from 'node:fs';
import { join, relative } from 'node:path';
import { PerceptualHashIndex } from './hash-index.js';
import { CROP_GRID, perceptualHash, perceptualHashes, type PHash } from './phash.js';
import { ImageDecodeError } from './transform.js';

/**
 * The default near-duplicate radius in bits of the 64-bit hash. In the tests re-encodes and resizes of a
 * reference image come within 4, crops keeping 85–90% of each side within 10; unrelated images are rarely
 * closer than 12 (see docs/data.md).
 */
export const NEAR_DUPLICATE_DISTANCE = 10;

const IMAGE_FILE = /\.(jpe?g|png|webp|gif|tiff?|avif)$/i;

/** Image files under `dir` (recursively, dotfiles skipped), sorted by path. */
export async function listImageFiles(dir: string): Promise<string[]> {
  const out: string[] = [];
  const walk = async (d: string): Promise<void> => {
    const entries = await fsp.readdir(d, { withFileTypes: true });
    entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    for (const e of entries) {
      if (e.name.startsWith('.')) continue;
      const p = join(d, e.name);
      if (e.isDirectory()) await walk(p);
      else if (e.isFile() && IMAGE_FILE.test(e.name)) out.push(p);
    }
  };
  await walk(dir);
  return out;
}

export interface ReferenceMatch {
  /** The reference image's label (its path, or what the caller named it). */
  label: string;
  distance: number;
}

/** Reference images, each stored as its CROP_GRID hashes under one label. */
export class ReferenceSet {
  private readonly index = new PerceptualHashIndex();
  private readonly labelOf: number[] = [];
  readonly labels: string[] = [];
  /** Images that could not be decoded (skipped). */
  unreadable = 0;

  /** Hashes `bytes` at every CROP_GRID box under `label`; counts and skips an image that does not decode. */
  async add(label: string, bytes: Uint8Array): Promise<boolean> {
    let hashes: PHash[];
    try {
      hashes = await perceptualHashes(bytes, CROP_GRID);
    } catch (e) {
      if (!(e instanceof ImageDecodeError)) throw e;
      this.unreadable++;
      return false;
    }
    const l = this.labels.push(label) - 1;
    for (const h of hashes) {
      this.index.add(h);
      this.labelOf.push(l);
    }
    return true;
  }

  /** The reference image nearest to hash `h` within `maxDistance` bits, or null. */
  nearest(h: PHash, maxDistance = NEAR_DUPLICATE_DISTANCE): ReferenceMatch | null {
    const m = this.index.nearest(h, maxDistance);
    return m ? { label: this.labels[this.labelOf[m.index]!]!, distance: m.distance } : null;
  }

  /** The reference image that encoded image `bytes` is a near copy of, or null (throws ImageDecodeError). */
  async match(bytes: Uint8Array, maxDistance = NEAR_DUPLICATE_DISTANCE): Promise<ReferenceMatch | null> {
    return this.nearest(await perceptualHash(bytes), maxDistance);
  }

  /** Adds every image file under `dir`, labelled `labelPrefix` + its path relative to `dir`. */
  async addImageFolder(dir: string, labelPrefix = ''): Promise<this> {
    for (const file of await listImageFiles(dir)) await this.add(labelPrefix + relative(dir, file), await fsp.readFile(file));
    return this;
  }
}
