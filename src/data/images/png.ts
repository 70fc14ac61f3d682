// A fast path for the common PNG (8-bit gray/RGB/gray-alpha/RGBA, not interlaced, no palette, tRNS or ICC
// profile): inflate + unfilter in JS, alpha as `alpha.ts` says. Anything else returns null and goes to sharp.
import { inflateSync } from 'node:zlib';
import { type AlphaMode, toRgb } from './alpha.js';

export interface RgbImage {
  data: Uint8Array;
  width: number;
  height: number;
}

const CHANNELS: Record<number, number> = { 0: 1, 2: 3, 4: 2, 6: 4 };
const MAX_SIDE = 1 << 14;

function paeth(a: number, b: number, c: number): number {
  const p = a + b - c;
  const pa = Math.abs(p - a);
  const pb = Math.abs(p - b);
  const pc = Math.abs(p - c);
  return pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
}

/**
 * Reverses one scanline's filter: `raw[src …]` (after the filter byte) into `px[row …]`, with the previous
 * row at `px[row - stride …]` when `hasUp`. One loop per filter type: the per-byte switch was the decoder's
 * main cost.
 */
function unfilterRow(f: number, raw: Uint8Array, src: number, px: Uint8Array, row: number, stride: number, ch: number, hasUp: boolean): void {
  const up = row - stride;
  switch (f) {
    case 0:
      px.set(raw.subarray(src, src + stride), row);
      return;
    case 1:
      for (let i = 0; i < ch; i++) px[row + i] = raw[src + i]!;
      for (let i = ch; i < stride; i++) px[row + i] = (raw[src + i]! + px[row + i - ch]!) & 255;
      return;
    case 2:
      if (!hasUp) px.set(raw.subarray(src, src + stride), row);
      else for (let i = 0; i < stride; i++) px[row + i] = (raw[src + i]! + px[up + i]!) & 255;
      return;
    case 3:
      for (let i = 0; i < stride; i++) {
        const a = i >= ch ? px[row + i - ch]! : 0;
        const b = hasUp ? px[up + i]! : 0;
        px[row + i] = (raw[src + i]! + ((a + b) >> 1)) & 255;
      }
      return;
    case 4:
      for (let i = 0; i < stride; i++) {
        const a = i >= ch ? px[row + i - ch]! : 0;
        const b = hasUp ? px[up + i]! : 0;
        const c = i >= ch && hasUp ? px[up + i - ch]! : 0;
        px[row + i] = (raw[src + i]! + paeth(a, b, c)) & 255;
      }
      return;
    default:
      throw new Error(`bad PNG filter type ${f}`);
  }
}

/** Decoded RGB (transparency per `alpha`), null when the file is outside the fast path. Throws on corrupt data. */
export function decodePngFast(bytes: Uint8Array, alpha: AlphaMode = 'drop'): RgbImage | null {
  if (bytes.length < 33 || bytes[0] !== 0x89 || bytes[1] !== 0x50 || bytes[2] !== 0x4e || bytes[3] !== 0x47) return null;
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const width = v.getUint32(16);
  const height = v.getUint32(20);
  const depth = bytes[24]!;
  const colorType = bytes[25]!;
  const interlace = bytes[28]!;
  const ch = CHANNELS[colorType];
  if (depth !== 8 || !ch || interlace !== 0 || width === 0 || height === 0 || width > MAX_SIDE || height > MAX_SIDE) return null;
  const idat: Uint8Array[] = [];
  let p = 8;
  let ended = false;
  while (p + 8 <= bytes.length) {
    const len = v.getUint32(p);
    const type = String.fromCharCode(bytes[p + 4]!, bytes[p + 5]!, bytes[p + 6]!, bytes[p + 7]!);
    if (p + 12 + len > bytes.length) throw new Error('truncated PNG chunk');
    if (type === 'IDAT') idat.push(bytes.subarray(p + 8, p + 8 + len));
    else if (type === 'tRNS' || type === 'iCCP' || type === 'PLTE') return null;
    else if (type === 'IEND') {
      ended = true;
      break;
    }
    p += 12 + len;
  }
  if (!ended) throw new Error('truncated PNG (no IEND)');
  const stride = width * ch;
  const raw = inflateSync(idat.length === 1 ? idat[0]! : Buffer.concat(idat));
  if (raw.length < (stride + 1) * height) throw new Error('PNG image data too short');
  const px = new Uint8Array(stride * height);
  for (let y = 0; y < height; y++) unfilterRow(raw[y * (stride + 1)]!, raw, y * (stride + 1) + 1, px, y * stride, stride, ch, y > 0);
  return { data: toRgb(px, ch, width * height, alpha), width, height };
}
