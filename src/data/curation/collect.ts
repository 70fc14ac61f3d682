// Pass 2 of `dataset build`: walks each source's candidate file beside its shards and copies every picked
// sample into the on-disk bucket of its output shard. Which candidates are picked, and where each lands, come
// from seeded permutations evaluated one index at a time, so memory holds one shard's picks at most.
import { promises as fsp } from 'node:fs';
import { join, relative } from 'node:path';
import { InputError } from '../../util/errors.js';
import { progress } from '../../util/progress.js';
import { seedFrom } from '../../util/seed.js';
import { readShard } from '../shards/reader.js';
import { keyHash, readCandidates, type Candidate } from './candidates.js';
import { Permutation } from './permutation.js';
import { BuildInterrupted, candidatesPath, type Plan } from './plan.js';
import { eligibility } from './select.js';
import type { DatasetSpec } from './spec.js';
import { SpoolWriter } from './spool.js';

interface Pick {
  out: number;
  score: number;
  keyHash: number;
}

/**
 * Source i's candidate k (counted among the eligible) is picked when pick_i(k) < selected_i, a uniform
 * subset; the g-th picked sample over all sources, in spec and read order, becomes output sample order(g).
 */
class Picker {
  private readonly order: Permutation;
  private g = 0;
  constructor(seed: number, total: number) {
    this.order = new Permutation(total, seedFrom('order', seed));
  }
  next(): number {
    return this.order.at(this.g++);
  }
}

/** The picks of one shard (ordinal → pick), advancing the source's candidate iterator past it. */
function shardPicks(cands: { it: Iterator<Candidate>; next: IteratorResult<Candidate> }, shard: number, accept: (c: Candidate) => boolean, picker: Picker): Map<number, Pick> {
  const picks = new Map<number, Pick>();
  while (!cands.next.done && cands.next.value.shard === shard) {
    const c = cands.next.value;
    if (accept(c)) picks.set(c.ordinal, { out: picker.next(), score: c.score, keyHash: c.keyHash });
    cands.next = cands.it.next();
  }
  return picks;
}

export async function collect(o: { spec: DatasetSpec; baseDir: string; signal?: AbortSignal }, p: Plan, shardLists: string[][], shardSize: number, work: string): Promise<void> {
  for (const n of await fsp.readdir(work)) if (n.startsWith('bucket-')) await fsp.rm(join(work, n));
  const picker = new Picker(o.spec.seed, p.total);
  const w = new SpoolWriter(work);
  const bar = progress('collecting samples', p.total, 'samples');
  for (const [i, list] of shardLists.entries()) {
    const want = p.sources[i]!.selected;
    const pick = new Permutation(p.sources[i]!.eligible, seedFrom('pick', o.spec.seed, i));
    const eligible = eligibility(p.cuts[i]!);
    let k = 0;
    const accept = (c: Candidate): boolean => eligible(c.score) && pick.at(k++) < want;
    const it = readCandidates(candidatesPath(work, i));
    const cands = { it, next: it.next() };
    for (const [j, shard] of list.entries()) {
      const picks = shardPicks(cands, j, accept, picker);
      if (picks.size === 0) continue;
      let ordinal = -1;
      for await (const rec of readShard(shard, { signal: o.signal })) {
        const x = picks.get(++ordinal);
        if (!x) continue;
        picks.delete(ordinal);
        if (keyHash(rec.key) !== x.keyHash) throw new InputError(shard, `changed while building: sample ${ordinal} is now ${rec.key} (rerun with --overwrite)`);
        const origin = { source: o.spec.sources[i]!.name, shard: relative(o.baseDir, shard), key: rec.key };
        const meta: Record<string, unknown> = { ...rec.meta, origin };
        if (p.scored) meta.clip_score = x.score;
        w.add(Math.floor(x.out / shardSize), { out: x.out, ext: rec.imageExt, caption: rec.caption, meta, score: p.scored ? x.score : null, image: rec.image });
        bar.tick();
      }
      if (o.signal?.aborted) throw new BuildInterrupted('dataset build interrupted');
      if (picks.size > 0) throw new InputError(shard, `changed while building: ${picks.size} selected samples are gone or moved (rerun with --overwrite)`);
    }
  }
  w.flush();
  bar.stop();
  await fsp.writeFile(join(work, 'spool.done'), '');
}
