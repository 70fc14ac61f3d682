// A small testbed build: promised layout, determinism (byte-identical twice), misaligned fraction,
// caption conventions per source, manifest round trip.
import { createHash } from 'node:crypto';
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import sharp from 'sharp';
import { beforeAll, describe, expect, it } from 'vitest';
import { buildTestbed, readTestbedManifest, sourceShardPaths, evalSetPath, CLASS_FAMILIES, EVAL_SETS, FAMILY_SETS, SOURCE_SPECS, TRAINING_SOURCES, type TestbedManifest } from './index.js';
import { refKey } from './families.js';
import { addCorruptionShift } from './corruption-shift.js';
import { DECONTAMINATION_DISTANCE } from './build.js';
import { ReferenceSet } from '../images/hash-sets.js';
import { MIN_ARTWORKS_PER_FAMILY } from './icon-sets.js';
import { readShards } from '../shards/reader.js';
import type { ShardRecord } from '../shards/reader.js';
import { InputError } from '../../util/errors.js';

const OPTS = { concepts: 8, views: 2, evalViews: 3, evalViewsFull: 1, imageSize: 32, misaligned: 0.25, seed: 7 };

function tree(dir: string): Map<string, string> {
  const out = new Map<string, string>();
  const walk = (d: string): void => {
    for (const name of readdirSync(d).sort()) {
      const p = join(d, name);
      if (statSync(p).isDirectory()) walk(p);
      else out.set(relative(dir, p), createHash('sha256').update(readFileSync(p)).digest('hex'));
    }
  };
  walk(dir);
  return out;
}

async function samplesOf(dir: string, m: TestbedManifest, source: string): Promise<ShardRecord[]> {
  const out: ShardRecord[] = [];
  for await (const r of readShards(sourceShardPaths(dir, m, source))) out.push(r);
  return out;
}

let dirA: string;
let manifest: TestbedManifest;

beforeAll(async () => {
  dirA = mkdtempSync(join(tmpdir(), 'cliplab-testbed-a-'));
  manifest = await buildTestbed({ out: dirA, ...OPTS });
}, 600_000);

describe('buildTestbed (small)', () => {
  it('writes the promised layout and a manifest that reads back', async () => {
    const m = readTestbedManifest(dirA);
    expect(m).toEqual(manifest);
    expect(m.concepts.length).toBe(8);
    expect(m.classes.length).toBe(8);
    expect(m.sources.map((s) => s.name)).toEqual([...TRAINING_SOURCES]);
    for (const s of m.sources) {
      expect(s.sets.length, s.name).toBeGreaterThanOrEqual(3);
      expect(s.samples + s.decontaminated!.length).toBe(s.sets.reduce((a, x) => a + x.concepts, 0) * 2);
      expect(readdirSync(join(dirA, s.dir)).sort()).toEqual(['000000.tar', 'sizes.json']);
      expect(JSON.parse(readFileSync(join(dirA, s.dir, 'sizes.json'), 'utf8'))).toEqual({ '000000.tar': s.samples });
    }
    expect(m.eval.map((e) => e.name)).toEqual(EVAL_SETS.flatMap((n) => [n, `${n}-full`]));
    expect(() => evalSetPath(dirA, m, 'imagenet')).toThrow(InputError);
    for (const e of m.eval) {
      const dir = evalSetPath(dirA, m, e.name);
      const classnames = JSON.parse(readFileSync(join(dir, 'classnames.json'), 'utf8')) as string[];
      const dirs = readdirSync(dir).filter((d) => !d.endsWith('.json')).sort();
      expect(dirs).toEqual(m.classes.map((h) => h.toLowerCase()));
      expect(classnames).toEqual(m.classes.map((h) => m.concepts.find((c) => c.hexcode === h)!.name));
      for (const d of dirs) expect(readdirSync(join(dir, d)).sort()).toEqual(Array.from({ length: e.viewsPerClass }, (_, n) => `${n}.png`));
      expect(e.images).toBe(dirs.length * e.viewsPerClass);
    }
    const png = readFileSync(join(dirA, 'eval', 'noto-v1', m.classes[0]!.toLowerCase(), '0.png'));
    const meta = await sharp(png).metadata();
    expect([meta.format, meta.width, meta.height, meta.channels]).toEqual(['png', 32, 32, 3]);
  });

  it('is deterministic: the same options give byte-identical files; another seed differs', async () => {
    const dirB = mkdtempSync(join(tmpdir(), 'cliplab-testbed-b-'));
    await buildTestbed({ out: dirB, ...OPTS });
    const a = tree(dirA);
    const b = tree(dirB);
    expect([...b.keys()]).toEqual([...a.keys()]);
    for (const [k, v] of a) expect(b.get(k), k).toBe(v);
    const dirC = mkdtempSync(join(tmpdir(), 'cliplab-testbed-c-'));
    await buildTestbed({ out: dirC, ...OPTS, seed: 8 });
    const c = tree(dirC);
    expect(c.get('sources/emoji-flat/000000.tar')).not.toBe(a.get('sources/emoji-flat/000000.tar'));
    // The clean reference view does not depend on the seed; augmented views do.
    const cls = manifest.classes[0]!.toLowerCase();
    expect(c.get(`eval/noto-v1/${cls}/0.png`)).toBe(a.get(`eval/noto-v1/${cls}/0.png`));
    expect(c.get(`eval/noto-v1/${cls}/1.png`)).not.toBe(a.get(`eval/noto-v1/${cls}/1.png`));
  }, 600_000);

  it('with corruptionSeverity writes the corrupted reference shift in the build itself: the files and manifest entries `corrupt --testbed` adds to a plain build', async () => {
    const dirD = mkdtempSync(join(tmpdir(), 'cliplab-testbed-d-'));
    const withShift = await buildTestbed({ out: dirD, ...OPTS, corruptionSeverity: 2 });
    const dirE = mkdtempSync(join(tmpdir(), 'cliplab-testbed-e-'));
    cpSync(dirA, dirE, { recursive: true });
    await addCorruptionShift(dirE, { severity: 2, seed: OPTS.seed });
    const d = tree(dirD);
    const e = tree(dirE);
    expect([...d.keys()].filter((k) => k !== 'testbed.json')).toEqual([...e.keys()].filter((k) => k !== 'testbed.json'));
    for (const [k, v] of e) if (k !== 'testbed.json') expect(d.get(k), k).toBe(v);
    const plus = readTestbedManifest(dirE);
    expect(withShift.shifts).toEqual([...manifest.shifts, 'noto-v1-corrupted']);
    expect(withShift.eval).toEqual(plus.eval);
    expect(withShift.args.corruptionSeverity).toBe(2);
    expect(manifest.args.corruptionSeverity).toBeNull();
    expect(readTestbedManifest(dirD)).toEqual(withShift);
    await expect(buildTestbed({ out: dirD, ...OPTS, corruptionSeverity: 6 })).rejects.toThrow(/corruptionSeverity/);
  }, 600_000);

  it('misaligns the asked fraction of pairs, recorded in each sample json', async () => {
    for (const s of manifest.sources) {
      const recs = await samplesOf(dirA, manifest, s.name);
      expect(recs.length).toBe(s.samples);
      const mis = recs.filter((r) => r.meta.misaligned === true);
      // of the rendered pairs, some of which may have been left out as copies of evaluation images
      expect(Math.abs(mis.length - 0.25 * (s.samples + s.decontaminated!.length))).toBeLessThanOrEqual(s.decontaminated!.length + 0.5);
      expect(s.misaligned).toBe(mis.length);
      for (const r of mis) expect(r.meta.caption_concept).not.toBe(r.meta.concept);
      for (const r of recs) expect(new Set(['png'])).toContain(r.imageExt);
    }
  });

  it('leaves out and lists every training image within DECONTAMINATION_DISTANCE of an evaluation image', async () => {
    const evalImages = new ReferenceSet();
    for (const e of manifest.eval) await evalImages.addImageFolder(join(dirA, e.dir), `${e.dir}/`);
    let left = 0;
    for (const s of manifest.sources) {
      const recs = await samplesOf(dirA, manifest, s.name);
      for (const r of recs) expect(await evalImages.match(r.image, DECONTAMINATION_DISTANCE), `${s.name} ${r.key}`).toBeNull();
      const keys = new Set(recs.map((r) => r.key));
      for (const x of s.decontaminated!) {
        expect(keys.has(x.key)).toBe(false);
        expect(existsSync(join(dirA, x.eval)), x.eval).toBe(true);
        expect(x.distance).toBeLessThanOrEqual(DECONTAMINATION_DISTANCE);
      }
      left += s.decontaminated!.length;
    }
    // Some shift sets are recolourings of training sets' artwork (emojione-monotone of emojione,
    // fluent-emoji-high-contrast of fluent-emoji-flat): a build of real icons has copies to leave out.
    expect(left).toBeGreaterThan(0);
  });

  it('draws every class of a class family from several of its sets (independent artworks), each sample naming its set', async () => {
    for (const name of CLASS_FAMILIES) {
      const s = manifest.sources.find((x) => x.name === name)!;
      const recs = await samplesOf(dirA, manifest, name);
      const family = new Set(FAMILY_SETS[name].map(refKey));
      const setsOf = new Map<string, Set<string>>();
      for (const r of recs) {
        expect(family.has(r.meta.set as string), `${name}: ${String(r.meta.set)}`).toBe(true);
        const list = setsOf.get(r.meta.concept as string) ?? new Set();
        list.add(r.meta.set as string);
        setsOf.set(r.meta.concept as string, list);
      }
      for (const cls of manifest.classes) expect(setsOf.get(cls)?.size ?? 0, `${name} ${cls}`).toBeGreaterThanOrEqual(MIN_ARTWORKS_PER_FAMILY);
      expect(s.concepts).toBe(setsOf.size);
    }
  });

  it('gives each source its caption convention, from the concept annotations', async () => {
    const byName = new Map(manifest.concepts.map((c) => [c.hexcode, c]));
    for (const spec of SOURCE_SPECS) {
      const recs = await samplesOf(dirA, manifest, spec.name);
      for (const r of recs) {
        expect(r.meta.source).toBe(spec.name);
        expect(r.meta.convention).toBe(spec.convention);
        const c = byName.get((r.meta.caption_concept ?? r.meta.concept) as string)!;
        const text = r.caption;
        switch (spec.convention) {
          case 'alt-text':
          case 'stock-description':
            expect(text.toLowerCase()).toContain(c.name.toLowerCase());
            break;
          case 'cldr-keywords':
            expect(text.split(' | ').length).toBeGreaterThanOrEqual(1);
            break;
          case 'shortcode-tags':
            expect(text).toMatch(/^:[^:\s]+:( #\S+)+$/);
            break;
          case 'label-category':
            expect(text).toContain(c.label);
            expect(text).toContain(c.group);
            break;
          case 'multilingual':
            expect(typeof r.meta.lang).toBe('string');
            break;
        }
      }
    }
  });

  it('rejects bad options with errors naming them', async () => {
    await expect(buildTestbed({ out: dirA, misaligned: 1.5 })).rejects.toThrow(InputError);
    await expect(buildTestbed({ out: dirA, imageSize: 0 })).rejects.toThrow(/imageSize/);
    await expect(buildTestbed({ out: dirA, concepts: 0 })).rejects.toThrow(/concepts/);
  });
});
