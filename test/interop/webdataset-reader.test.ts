// webdataset's own reader on cliplab's shards: a tiny testbed build (PNG, the sources training reads) and a
// ShardWriter set with JPEG and PNG images, a key with a directory part, non-ASCII and multi-line captions and
// nested JSON metadata, read by webdataset 0.2.48's `WebDataset(urls)` (the peer, as OpenCLIP's loader uses it)
// with `.decode('pil')`. Sample for sample, in order: the key, the caption, the JSON, the image's member
// extension and raw bytes equal what cliplab's reader returns, and Pillow's convert('RGB') pixels of every PNG
// equal cliplab's own PNG decoder's.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { decodePngFast } from '../../src/data/images/png.js';
import { readShards, type ShardRecord } from '../../src/data/shards/reader.js';
import { syntheticImage } from '../../src/data/shards/synthetic.js';
import { ShardWriter } from '../../src/data/shards/writer.js';
import { describeWith } from '../support/external.js';
import { peerTool, runPeer } from './peer.js';

const repo = fileURLToPath(new URL('../../', import.meta.url));
const sha = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');

// Two passes over the same urls: raw member bytes (no decode) for the image's bytes, then webdataset's decoders.
const READ = `
import hashlib, json, sys, webdataset as wds
urls = json.load(open(sys.argv[1]))
IMG = ('jpg', 'jpeg', 'png', 'webp')
raw = [{k: hashlib.sha256(v).hexdigest() for k, v in s.items() if k in IMG} for s in wds.WebDataset(urls, shardshuffle=False)]
out = []
for s, r in zip(wds.WebDataset(urls, shardshuffle=False).decode('pil'), raw):
    exts = [k for k in s if k in IMG]
    im = s[exts[0]]
    out.append({'key': s['__key__'], 'url': s['__url__'], 'txt': s['txt'], 'json': s['json'], 'exts': exts, 'raw': r[exts[0]],
                'size': list(im.size), 'rgb': hashlib.sha256(im.convert('RGB').tobytes()).hexdigest()})
print(json.dumps({'version': wds.__version__, 'samples': out}))
`;

interface Theirs { key: string; url: string; txt: string; json: unknown; exts: string[]; raw: string; size: [number, number]; rgb: string }

describeWith(peerTool, "webdataset's own reader on cliplab shards", () => {
  let root: string;
  const sets: { name: string; shards: string[] }[] = [];
  beforeAll(async () => {
    root = mkdtempSync(join(tmpdir(), 'cliplab-wds-'));
    const tb = join(root, 'tb');
    const b = spawnSync(process.execPath, ['bin/cliplab.js', 'testbed', 'build', '--out', tb, '--concepts', '6', '--views', '2', '--eval-views', '1', '--eval-views-full', '1', '--image-size', '32'], { cwd: repo, encoding: 'utf8', env: { ...process.env, CLIPLAB_QUIET: '1' } });
    expect(b.status, b.stderr).toBe(0);
    const srcs = join(tb, 'sources');
    const shards = readdirSync(srcs).sort().flatMap((s) => readdirSync(join(srcs, s)).filter((f) => f.endsWith('.tar')).sort().map((f) => join(srcs, s, f)));
    expect(shards.length).toBeGreaterThanOrEqual(5);
    sets.push({ name: 'testbed', shards });

    const dir = join(root, 'mixed');
    const w = new ShardWriter({ dir, shardSize: 4 });
    const captions = ['a red cat', 'ein Bär – naïve café 🐈', 'two\nlines', '  spaced  ', 'x'];
    for (let i = 0; i < 10; i++) {
      const ext = i % 2 === 0 ? 'jpg' : 'png';
      await w.write({
        key: i === 3 ? 'sub/dir-3' : `s${String(i).padStart(4, '0')}`,
        image: await syntheticImage(i, { ext, width: 20 + i, height: 16, seed: 7, alpha: ext === 'png' && i % 4 === 1 }),
        imageExt: ext,
        caption: captions[i % captions.length]!,
        meta: { i, source: 'mixed', nested: { list: [1, 'two', null], ok: i % 3 === 0 } },
      });
    }
    const written = await w.close();
    expect(written.map((s) => s.count)).toEqual([4, 4, 2]);
    sets.push({ name: 'mixed', shards: written.map((s) => s.file) });
  }, 120_000);
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  for (const name of ['testbed', 'mixed'])
    it(`reads every sample of the ${name} shards as cliplab's reader does`, async () => {
      const { shards } = sets.find((s) => s.name === name)!;
      const urls = join(root, `${name}-urls.json`);
      writeFileSync(urls, JSON.stringify(shards));
      const res = JSON.parse(runPeer(READ, [urls])) as { version: string; samples: Theirs[] };
      expect(res.version).toBe('0.2.48');
      const ours: ShardRecord[] = [];
      for await (const r of readShards(shards)) ours.push(r);
      expect(ours.length).toBeGreaterThan(0);
      expect(res.samples.map((s) => s.key)).toEqual(ours.map((r) => r.key));
      let pngs = 0;
      res.samples.forEach((t, i) => {
        const o = ours[i]!;
        const at = `${name} sample ${i} (${o.key})`;
        expect(t.url, at).toBe(o.shard);
        expect(t.txt, at).toBe(o.caption);
        expect(t.json, at).toEqual(o.meta);
        expect(t.exts, at).toEqual([o.imageExt]);
        expect(t.raw, at).toBe(sha(o.image));
        if (o.imageExt === 'png') {
          const px = decodePngFast(o.image);
          expect(px, at).not.toBeNull();
          expect(t.size, at).toEqual([px!.width, px!.height]);
          expect(t.rgb, at).toBe(sha(px!.data));
          pngs++;
        }
      });
      expect(pngs).toBeGreaterThan(0);
      if (name === 'mixed') {
        expect(ours.map((r) => r.key)).toContain('sub/dir-3');
        expect(res.samples.filter((s) => s.exts[0] === 'jpg').map((s) => s.size)).toEqual([[20, 16], [22, 16], [24, 16], [26, 16], [28, 16]]);
      }
    }, 60_000);
});
