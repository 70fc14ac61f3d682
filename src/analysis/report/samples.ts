// Sample images per source for the report. Convention: `<dir>/samples/<source>/<name>.<png|jpg|jpeg|webp|svg>`
// with an optional caption in `<name>.txt` beside it; the first few per source (by name) are shown,
// downscaled to thumbnails and embedded as base64 PNG.
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { extname, join } from 'node:path';
import sharp from 'sharp';

export interface SampleImage {
  name: string;
  caption: string | null;
  /** data: URI of a PNG thumbnail. */
  dataUri: string;
}

export interface SampleGroup {
  source: string;
  images: SampleImage[];
}

const IMAGE_EXT = new Set(['.png', '.jpg', '.jpeg', '.webp', '.svg']);

/** The sample folders a report directory offers: `<dir>/samples`, else the analysis' recorded one. */
export function samplesRoot(dir: string, recorded?: string): string | null {
  const own = join(dir, 'samples');
  if (existsSync(own) && statSync(own).isDirectory()) return own;
  if (recorded && existsSync(recorded) && statSync(recorded).isDirectory()) return recorded;
  return null;
}

export async function readSamples(root: string, perSource = 4, thumb = 160): Promise<SampleGroup[]> {
  const groups: SampleGroup[] = [];
  const sources = readdirSync(root, { withFileTypes: true })
    .filter((e) => e.isDirectory() && !e.name.startsWith('.'))
    .map((e) => e.name)
    .sort();
  for (const source of sources) {
    const dir = join(root, source);
    const files = readdirSync(dir)
      .filter((f) => IMAGE_EXT.has(extname(f).toLowerCase()))
      .sort()
      .slice(0, perSource);
    const images: SampleImage[] = [];
    for (const f of files) {
      const stem = f.slice(0, f.length - extname(f).length);
      const captionFile = join(dir, `${stem}.txt`);
      const caption = existsSync(captionFile) ? readFileSync(captionFile, 'utf8').trim() : null;
      try {
        const png = await sharp(join(dir, f)).resize(thumb, thumb, { fit: 'inside', withoutEnlargement: false }).png().toBuffer();
        images.push({ name: f, caption, dataUri: `data:image/png;base64,${png.toString('base64')}` });
      } catch {
        // An unreadable image is left out of the report rather than failing it.
      }
    }
    if (images.length > 0) groups.push({ source, images });
  }
  return groups;
}
