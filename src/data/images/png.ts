// A fast path for the common PNG (8-bit gray/RGB/gray-alpha/RGBA, not interlaced, no palette, tRNS or ICC
// profile): inflate + unfilter in JS, alpha flattened on white. Anything else returns null and goes to sharp.
import { inflateSync } from 'node:zlib';

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

/** Decoded RGB (alpha flattened on white), null when the file is outside the fast path. Throws on corrupt data. */
export function decodePngFast(bytes: Uint8Array): RgbImage | null {
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
  // unfilter in place into `px`
  const px = new Uint8Array(stride * height);
  for (let y = 0; y < height; y++) {
    const f = raw[y * (stride + 1)]!;
    const src = y * (stride + 1) + 1;
    const row = y * stride;
    const up = row - stride;
    for (let i = 0; i < stride; i++) {
      const x = raw[src + i]!;
      const a = i >= ch ? px[row + i - ch]! : 0;
      const b = y > 0 ? px[up + i]! : 0;
      const c = i >= ch && y > 0 ? px[up + i - ch]! : 0;
      let out: number;
      switch (f) {
        case 0:
          out = x;
          break;
        case 1:
          out = x + a;
          break;
        case 2:
          out = x + b;
          break;
        case 3:
          out = x + ((a + b) >> 1);
          break;
        case 4:
          out = x + paeth(a, b, c);
          break;
        default:
          throw new Error(`bad PNG filter type ${f}`);
      }
      px[row + i] = out & 255;
    }
  }
  if (ch === 3) return { data: px, width, height };
  const n = width * height;
  const rgb = new Uint8Array(n * 3);
  for (let i = 0; i < n; i++) {
    if (ch === 1) {
      rgb[i * 3] = rgb[i * 3 + 1] = rgb[i * 3 + 2] = px[i]!;
      continue;
    }
    const o = i * ch;
    const alpha = px[o + ch - 1]! / 255;
    const bg = 255 * (1 - alpha);
    for (let c = 0; c < 3; c++) {
      const val = ch === 2 ? px[o]! : px[o + c]!;
      rgb[i * 3 + c] = Math.round(val * alpha + bg);
    }
  }
  return { data: rgb, width, height };
}
