// Image dimensions from the first bytes of a PNG, JPEG or WebP, without decoding (saves a sharp round trip).

export interface ImageDims {
  width: number;
  height: number;
}

function png(b: Uint8Array): ImageDims | null {
  if (b.length < 24 || b[0] !== 0x89 || b[1] !== 0x50 || b[2] !== 0x4e || b[3] !== 0x47) return null;
  const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
  return { width: v.getUint32(16), height: v.getUint32(20) };
}

function jpeg(b: Uint8Array): ImageDims | null {
  if (b.length < 4 || b[0] !== 0xff || b[1] !== 0xd8) return null;
  let p = 2;
  while (p + 9 < b.length) {
    if (b[p] !== 0xff) return null;
    const m = b[p + 1]!;
    if (m === 0xff) {
      p++;
      continue;
    }
    if (m === 0xd8 || m === 0x01 || (m >= 0xd0 && m <= 0xd7)) {
      p += 2;
      continue;
    }
    const len = (b[p + 2]! << 8) | b[p + 3]!;
    const sof = m >= 0xc0 && m <= 0xcf && m !== 0xc4 && m !== 0xc8 && m !== 0xcc;
    if (sof) return { height: (b[p + 5]! << 8) | b[p + 6]!, width: (b[p + 7]! << 8) | b[p + 8]! };
    if (len < 2) return null;
    p += 2 + len;
  }
  return null;
}

function webp(b: Uint8Array): ImageDims | null {
  if (b.length < 30) return null;
  const tag = (o: number): string => String.fromCharCode(b[o]!, b[o + 1]!, b[o + 2]!, b[o + 3]!);
  if (tag(0) !== 'RIFF' || tag(8) !== 'WEBP') return null;
  const chunk = tag(12);
  if (chunk === 'VP8 ') return { width: (b[26]! | (b[27]! << 8)) & 0x3fff, height: (b[28]! | (b[29]! << 8)) & 0x3fff };
  if (chunk === 'VP8L') {
    const [b0, b1, b2, b3] = [b[21]!, b[22]!, b[23]!, b[24]!];
    return { width: 1 + (b0 | ((b1 & 0x3f) << 8)), height: 1 + ((b1 >> 6) | (b2 << 2) | ((b3 & 0x0f) << 10)) };
  }
  if (chunk === 'VP8X') return { width: 1 + (b[24]! | (b[25]! << 8) | (b[26]! << 16)), height: 1 + (b[27]! | (b[28]! << 8) | (b[29]! << 16)) };
  return null;
}

/** Width and height from the header, or null when the format is not recognized (callers ask sharp then). */
export function sniffDimensions(bytes: Uint8Array): ImageDims | null {
  const d = png(bytes) ?? jpeg(bytes) ?? webp(bytes);
  return d && d.width > 0 && d.height > 0 ? d : null;
}

const tag = (b: Uint8Array, o: number): string => String.fromCharCode(...b.subarray(o, o + 4));
/** Whether `marker` occurs in the last `window` bytes of `b`. */
function endsWith(b: Uint8Array, marker: readonly number[], window: number): boolean {
  const from = Math.max(0, b.length - window);
  for (let p = b.length - marker.length; p >= from; p--) if (marker.every((m, k) => b[p + k] === m)) return true;
  return false;
}

/**
 * Why the bytes are not a whole image, or null: an unknown format, a header without dimensions, or a file
 * cut short before its format's end marker (PNG IEND, JPEG EOI, GIF trailer, WebP's RIFF length). Checks the
 * first and last bytes only, so it costs nothing next to copying the image; it catches garbage and truncation,
 * not damage in the middle of the compressed data.
 */
export function brokenImage(b: Uint8Array): string | null {
  if (b.length >= 8 && b[0] === 0x89 && tag(b, 1) === 'PNG\r') {
    if (!sniffDimensions(b)) return 'PNG header without dimensions';
    return endsWith(b, [0x49, 0x45, 0x4e, 0x44], 12) ? null : 'PNG cut short (no IEND chunk)';
  }
  if (b.length >= 2 && b[0] === 0xff && b[1] === 0xd8) {
    if (!sniffDimensions(b)) return 'JPEG without a frame header (cut short?)';
    return endsWith(b, [0xff, 0xd9], 1024) ? null : 'JPEG cut short (no end-of-image marker)';
  }
  if (b.length >= 12 && tag(b, 0) === 'RIFF' && tag(b, 8) === 'WEBP') {
    const size = new DataView(b.buffer, b.byteOffset, b.byteLength).getUint32(4, true);
    if (size + 8 > b.length) return `WebP cut short (${b.length} of ${size + 8} bytes)`;
    return sniffDimensions(b) ? null : 'WebP header without dimensions';
  }
  if (b.length >= 6 && tag(b, 0) === 'GIF8') return endsWith(b, [0x3b], 16) ? null : 'GIF cut short (no trailer)';
  if (b.length >= 4 && (tag(b, 0) === 'II*\u0000' || tag(b, 0) === 'MM\u0000*')) return null; // TIFF
  if (b.length >= 12 && tag(b, 4) === 'ftyp') return null; // AVIF/HEIF
  return 'not a PNG, JPEG, WebP, GIF, TIFF or AVIF image';
}
