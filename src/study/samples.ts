// Sample pairs per training source for the report: the first few records of each source's shards, written as
// `DIR/samples/<source>/<key>.<ext>` + `<key>.txt` (the convention `cliplab report` reads).
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { listShards } from '../data/shards/list.js';
import { readShards } from '../data/shards/reader.js';

export async function writeSourceSamples(sources: Map<string, string>, dir: string, perSource = 4): Promise<void> {
  for (const [name, path] of sources) {
    const target = join(dir, name);
    if (existsSync(target)) continue;
    const shards = await listShards(path);
    mkdirSync(target, { recursive: true });
    let n = 0;
    for await (const rec of readShards(shards.slice(0, 1))) {
      const stem = String(n).padStart(2, '0');
      writeFileSync(join(target, `${stem}.${rec.imageExt}`), rec.image);
      writeFileSync(join(target, `${stem}.txt`), rec.caption + '\n');
      if (++n >= perSource) break;
    }
  }
}
