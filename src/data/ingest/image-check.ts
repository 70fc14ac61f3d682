// Checks that a downloaded body is an image (Content-Type, then magic bytes) and re-encodes it with sharp:
// EXIF-oriented, longest side at most `imageSize` (aspect kept, never enlarged), JPEG, pixel-count guard.
import sharp from 'sharp';

export type ImageFormat = 'jpeg' | 'png' | 'gif' | 'webp' | 'tiff' | 'avif';

/** Content types we accept before looking at the bytes; missing and octet-stream defer to the magic bytes. */
export function acceptableContentType(contentType: string): boolean {
  const t = contentType.split(';')[0]!.trim().toLowerCase();
  if (t === '' || t === 'application/octet-stream' || t === 'binary/octet-stream') return true;
  return t.startsWith('image/') && t !== 'image/svg+xml';
}

/** The raster format the leading bytes announce, or null (HTML, SVG, text, unknown). */
export function sniffImageFormat(b: Uint8Array): ImageFormat | null {
  const at = (i: number, ...xs: number[]) => xs.every((x, j) => b[i + j] === x);
  if (b.length < 12) return null;
  if (at(0, 0xff, 0xd8, 0xff)) return 'jpeg';
  if (at(0, 0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a)) return 'png';
  if (at(0, 0x47, 0x49, 0x46, 0x38)) return 'gif';
  if (at(0, 0x52, 0x49, 0x46, 0x46) && at(8, 0x57, 0x45, 0x42, 0x50)) return 'webp';
  if (at(0, 0x49, 0x49, 0x2a, 0x00) || at(0, 0x4d, 0x4d, 0x00, 0x2a)) return 'tiff';
  if (at(4, 0x66, 0x74, 0x79, 0x70)) {
    const brand = String.fromCharCode(b[8]!, b[9]!, b[10]!, b[11]!);
    if (['avif', 'avis', 'heic', 'heix', 'mif1', 'msf1'].includes(brand)) return 'avif';
  }
  return null;
}

export interface ResizeOptions {
  /** Longest side of the output, in pixels. */
  imageSize: number;
  /** Inputs with more pixels than this are refused before decoding (decompression-bomb guard). */
  maxPixels: number;
  jpegQuality: number;
}

export type ResizeResult =
  | { ok: true; jpeg: Buffer; width: number; height: number; originalWidth: number; originalHeight: number; format: ImageFormat }
  | { ok: false; error: 'too_many_pixels' | 'decode_error'; message: string };

/** Decodes, orients, resizes (fit inside imageSize², no enlargement), flattens on white and encodes JPEG. */
export async function resizeToJpeg(body: Uint8Array, format: ImageFormat, opts: ResizeOptions): Promise<ResizeResult> {
  try {
    const input = { limitInputPixels: opts.maxPixels, failOn: 'error' as const };
    const meta = await sharp(body, input).metadata();
    const w = meta.width ?? 0;
    const h = meta.height ?? 0;
    if (w * h > opts.maxPixels) return { ok: false, error: 'too_many_pixels', message: `${w}x${h} exceeds ${opts.maxPixels} pixels` };
    // EXIF orientations 5–8 swap the axes.
    const swap = (meta.orientation ?? 1) >= 5;
    const { data, info } = await sharp(body, input)
      .rotate()
      .resize({ width: opts.imageSize, height: opts.imageSize, fit: 'inside', withoutEnlargement: true })
      .flatten({ background: { r: 255, g: 255, b: 255 } })
      .jpeg({ quality: opts.jpegQuality })
      .toBuffer({ resolveWithObject: true });
    return { ok: true, jpeg: data, width: info.width, height: info.height, originalWidth: swap ? h : w, originalHeight: swap ? w : h, format };
  } catch (e) {
    const message = (e as Error).message.split('\n')[0] ?? String(e);
    if (/pixel limit/i.test(message)) return { ok: false, error: 'too_many_pixels', message };
    return { ok: false, error: 'decode_error', message };
  }
}
