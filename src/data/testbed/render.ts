// Rendering: a "view" (background + placed icons) becomes one SVG document that sharp (librsvg) rasterizes
// to a deterministic RGB PNG. Augmentations are SVG transforms, so every view is antialiased by librsvg.
import sharp from 'sharp';
import type { IconSvg } from './icon-sets.js';
import type { Rng } from '../../util/rng.js';

/** One icon placed in the frame; positions and sizes are fractions of the frame side. */
export interface Layer {
  svg: IconSvg;
  /** Centre of the icon's box. */
  cx: number;
  cy: number;
  /** Side of the icon's box. */
  scale: number;
  /** Degrees, clockwise. */
  rotate: number;
  opacity: number;
  /** CSS colour for `currentColor` (monochrome UI icons); librsvg's default is black. */
  color?: string;
}

export interface View {
  /** `#rrggbb`. */
  background: string;
  /** Painted in order: the last layer is on top (the depicted concept). */
  layers: Layer[];
}

const WHITE = '#ffffff';

function num(x: number): string {
  return (Math.round(x * 1000) / 1000).toString();
}

/** Prefixes the ids in an icon body so that several icons can share one document. */
function prefixIds(body: string, prefix: string): string {
  return body
    .replace(/\bid="([^"]+)"/g, `id="${prefix}$1"`)
    .replace(/url\(#([^)]+)\)/g, `url(#${prefix}$1)`)
    .replace(/href="#([^"]+)"/g, `href="#${prefix}$1"`);
}

/** The SVG document for a view at `size` × `size` pixels. */
export function viewSvg(view: View, size: number): string {
  const parts = [
    `<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" width="${size}" height="${size}" viewBox="0 0 ${size} ${size}">`,
    `<rect x="0" y="0" width="${size}" height="${size}" fill="${view.background}"/>`,
  ];
  view.layers.forEach((l, i) => {
    const side = l.scale * size;
    const body = view.layers.length > 1 ? prefixIds(l.svg.body, `l${i}_`) : l.svg.body;
    const opacity = (l.opacity < 1 ? ` opacity="${num(l.opacity)}"` : '') + (l.color ? ` color="${l.color}"` : '');
    parts.push(
      `<g transform="translate(${num(l.cx * size)} ${num(l.cy * size)}) rotate(${num(l.rotate)}) translate(${num(-side / 2)} ${num(-side / 2)})"${opacity}>`,
      `<svg width="${num(side)}" height="${num(side)}" viewBox="${l.svg.left} ${l.svg.top} ${l.svg.width} ${l.svg.height}">${body}</svg></g>`,
    );
  });
  parts.push('</svg>');
  return parts.join('');
}

/** Rasterizes a view to an RGB PNG (fixed encoder options: same view → same bytes). */
export async function renderView(view: View, size: number): Promise<Buffer> {
  return sharp(Buffer.from(viewSvg(view, size)))
    .flatten({ background: WHITE })
    .png({ compressionLevel: 6, adaptiveFiltering: false, palette: false })
    .toBuffer();
}

function hex2(x: number): string {
  return Math.round(Math.min(255, Math.max(0, x * 255)))
    .toString(16)
    .padStart(2, '0');
}

/** HSL (h in degrees, s and l in [0,1]) → `#rrggbb`. */
export function hsl(h: number, s: number, l: number): string {
  const a = s * Math.min(l, 1 - l);
  const f = (n: number): number => {
    const k = (n + h / 30) % 12;
    return l - a * Math.max(-1, Math.min(k - 3, 9 - k, 1));
  };
  return `#${hex2(f(0))}${hex2(f(8))}${hex2(f(4))}`;
}

function centred(svg: IconSvg): Layer {
  return { svg, cx: 0.5, cy: 0.5, scale: 1, rotate: 0, opacity: 1 };
}

/** The icon as its set draws it: centred, full frame, white background. */
export function cleanView(svg: IconSvg): View {
  return { background: WHITE, layers: [centred(svg)] };
}

/** Keeps a box of side `scale` inside the frame (give or take `slack`), with a random offset. */
function offset(rng: Rng, scale: number, slack: number): number {
  const m = Math.max(0, (1 - scale) / 2) + slack;
  return 0.5 + rng.uniform(-m, m);
}

/**
 * Training augmentation (as web images vary): view 0 is clean; other views scale 0.7–1, rotate ±20°,
 * shift, and half of them get a light tinted background. Monochrome icons (drawn in `currentColor`) get
 * a dark ink colour on views ≥ 1 half of the time, as UI icons appear themed.
 */
export function trainingView(svg: IconSvg, rng: Rng, view: number): View {
  if (view === 0) return cleanView(svg);
  const scale = rng.uniform(0.7, 1);
  const rotate = rng.uniform(-20, 20);
  const cx = offset(rng, scale, 0.04);
  const cy = offset(rng, scale, 0.04);
  const background = rng.random() < 0.5 ? WHITE : hsl(rng.uniform(0, 360), rng.uniform(0.3, 0.7), rng.uniform(0.86, 0.96));
  const ink = rng.random() < 0.5 ? hsl(rng.uniform(0, 360), rng.uniform(0.5, 0.9), rng.uniform(0.2, 0.45)) : undefined;
  const layer: Layer = { svg, cx, cy, scale, rotate, opacity: 1 };
  if (ink && svg.body.includes('currentColor')) layer.color = ink;
  return { background, layers: [layer] };
}

/** Evaluation view of a natural set (reference or style shift): view 0 is clean; others scale 0.8–1, rotate ±10°. */
export function evalView(svg: IconSvg, rng: Rng, view: number): View {
  if (view === 0) return cleanView(svg);
  const scale = rng.uniform(0.8, 1);
  const rotate = rng.uniform(-10, 10);
  return { background: WHITE, layers: [{ svg, cx: offset(rng, scale, 0), cy: offset(rng, scale, 0), scale, rotate, opacity: 1 }] };
}

/**
 * The synthetic ObjectNet-like shift: the object smaller (0.55–0.8 of the frame), rotated ±35°, off
 * centre, on a tinted background among 0–2 smaller, partly transparent distractor icons (concepts that
 * are not classes). Milder than it could be on purpose: at 32 px a harder version (0.45–0.7, a quarter
 * upside down, 1–3 distractors) left CPU-sized models near chance, so its trend lines carried no signal.
 */
export function distortedView(svg: IconSvg, rng: Rng, distractors: readonly IconSvg[]): View {
  const background = hsl(rng.uniform(0, 360), rng.uniform(0.2, 0.6), rng.uniform(0.7, 0.92));
  const layers: Layer[] = [];
  const clutter = distractors.length > 0 ? rng.int(3) : 0;
  for (let i = 0; i < clutter; i++) {
    const scale = rng.uniform(0.25, 0.4);
    layers.push({
      svg: distractors[rng.int(distractors.length)]!,
      cx: rng.uniform(0.1, 0.9),
      cy: rng.uniform(0.1, 0.9),
      scale,
      rotate: rng.uniform(-30, 30),
      opacity: rng.uniform(0.5, 0.9),
    });
  }
  const scale = rng.uniform(0.55, 0.8);
  const rotate = rng.uniform(-35, 35);
  layers.push({ svg, cx: offset(rng, scale, 0.05), cy: offset(rng, scale, 0.05), scale, rotate, opacity: 1 });
  return { background, layers };
}
