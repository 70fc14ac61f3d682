// What becomes of transparency when an image is decoded to RGB. By default the stored colours are kept and
// alpha is ignored, as Pillow's convert('RGB') does (OpenCLIP's and torchvision's loaders call it on every
// image, transparent pixels included); flattening onto white or black is an option. One function for every
// decoder (the PNG fast path and sharp), so they agree byte for byte.

export const ALPHA_MODES = ['drop', 'white', 'black'] as const;
export type AlphaMode = (typeof ALPHA_MODES)[number];

/**
 * Interleaved RGB of `n` pixels with `channels` = 1 (gray), 2 (gray+alpha), 3 (RGB) or 4 (RGBA) 8-bit
 * channels. 'white'/'black' flatten as round((v·a + bg·(255 − a)) / 255), exactly, in integers (no ties:
 * 255 is odd). RGB input is returned as is.
 */
export function toRgb(data: Uint8Array, channels: number, n: number, alpha: AlphaMode = 'drop'): Uint8Array {
  if (channels === 3) return data;
  if (channels < 1 || channels > 4) throw new Error(`cannot make RGB of ${channels} channels`);
  const out = new Uint8Array(n * 3);
  const gray = channels <= 2;
  const hasAlpha = channels === 2 || channels === 4;
  const bg = alpha === 'white' ? 255 : 0;
  const flatten = hasAlpha && alpha !== 'drop';
  for (let i = 0, s = 0, o = 0; i < n; i++, s += channels, o += 3) {
    const r = data[s]!;
    const g = gray ? r : data[s + 1]!;
    const b = gray ? r : data[s + 2]!;
    if (!flatten) {
      out[o] = r;
      out[o + 1] = g;
      out[o + 2] = b;
      continue;
    }
    const a = data[s + channels - 1]!;
    const under = bg * (255 - a) + 127;
    out[o] = ((r * a + under) / 255) | 0;
    out[o + 1] = ((g * a + under) / 255) | 0;
    out[o + 2] = ((b * a + under) / 255) | 0;
  }
  return out;
}
