// For tests only: seeded "photographs" (a gradient sky and a few coloured shapes, rendered from SVG by sharp)
// and the near copies a web crawl holds of an image: crops, re-encodes and resizes.
import sharp from 'sharp';
import { Rng } from '../../src/util/rng.js';

/** A 256×256 PNG scene drawn from `seed`: background gradient plus 3–7 ellipses and rectangles. */
export async function scene(seed: number, size = 256): Promise<Buffer> {
  const rng = new Rng(seed * 7_919 + 17);
  const col = () => `rgb(${rng.int(256)},${rng.int(256)},${rng.int(256)})`;
  const shapes: string[] = [];
  const n = 3 + rng.int(5);
  for (let i = 0; i < n; i++) {
    const x = rng.int(size);
    const y = rng.int(size);
    const a = 20 + rng.int(size / 2);
    const b = 20 + rng.int(size / 2);
    shapes.push(rng.int(2) === 0 ? `<ellipse cx="${x}" cy="${y}" rx="${a / 2}" ry="${b / 2}" fill="${col()}"/>` : `<rect x="${x - a / 2}" y="${y - b / 2}" width="${a}" height="${b}" fill="${col()}" transform="rotate(${rng.int(90)} ${x} ${y})"/>`);
  }
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${size}" height="${size}"><defs><linearGradient id="g" x1="0" y1="0" x2="${rng.int(2)}" y2="1"><stop offset="0" stop-color="${col()}"/><stop offset="1" stop-color="${col()}"/></linearGradient></defs><rect width="${size}" height="${size}" fill="url(#g)"/>${shapes.join('')}</svg>`;
  return sharp(Buffer.from(svg)).png().toBuffer();
}

export type Variant = 'reencode' | 'resize' | 'crop' | 'cornerCrop' | 'offCrop' | 'cropResizeReencode' | 'webp';

export const VARIANTS: readonly Variant[] = ['reencode', 'resize', 'crop', 'cornerCrop', 'offCrop', 'cropResizeReencode', 'webp'];

/** A near copy of `png`: JPEG q40, resized to 40%, a 90% center crop, an 85% corner crop, an off-centre
 * 87%×88% crop, crop + resize + JPEG, or WebP. */
export async function variant(png: Buffer, v: Variant): Promise<Buffer> {
  const { width = 0, height = 0 } = await sharp(png).metadata();
  const img = sharp(png);
  switch (v) {
    case 'reencode':
      return img.jpeg({ quality: 40 }).toBuffer();
    case 'resize':
      return img.resize(Math.round(width * 0.4), Math.round(height * 0.4)).png().toBuffer();
    case 'crop':
      return img.extract({ left: Math.round(width * 0.05), top: Math.round(height * 0.05), width: Math.round(width * 0.9), height: Math.round(height * 0.9) }).png().toBuffer();
    case 'cornerCrop':
      return img.extract({ left: 0, top: 0, width: Math.round(width * 0.85), height: Math.round(height * 0.85) }).png().toBuffer();
    case 'offCrop':
      // 87% × 88%, placed off-centre: on no box of a grid of round fractions.
      return img.extract({ left: Math.round(width * 0.09), top: Math.round(height * 0.04), width: Math.round(width * 0.87), height: Math.round(height * 0.88) }).png().toBuffer();
    case 'cropResizeReencode':
      return img
        .extract({ left: Math.round(width * 0.04), top: Math.round(height * 0.06), width: Math.round(width * 0.9), height: Math.round(height * 0.88) })
        .resize(Math.round(width * 0.5))
        .jpeg({ quality: 60 })
        .toBuffer();
    case 'webp':
      return img.webp({ quality: 50 }).toBuffer();
  }
}
