// The build's candidate list on disk: one fixed 16-byte record per sample that passed a source's caption
// filters and deduplication (shard index, ordinal in the shard, CLIP score or NaN, key hash), in read order,
// written and read sequentially in bounded memory whatever the source's size.
import { closeSync, openSync, readSync, writeSync } from 'node:fs';
import { seedFor } from '../../util/seed.js';

export interface Candidate {
  /** Index of the shard in the source's shard list. */
  shard: number;
  /** Position of the sample among the samples the reader yields from its shard. */
  ordinal: number;
  /** CLIP score (float32), NaN when not scored or the image does not decode. */
  score: number;
  /** keyHash(key), to notice a shard that changed between the passes. */
  keyHash: number;
}

const RECORD = 16;
const BUFFER = 1 << 20;

/** FNV-1a over the key's UTF-16 code units (seedFor with seed 0 is exactly that hash). */
export function keyHash(key: string): number {
  return seedFor(0, key);
}

export class CandidateWriter {
  private readonly fd: number;
  private readonly buf = Buffer.alloc(BUFFER);
  private used = 0;
  count = 0;

  constructor(path: string) {
    this.fd = openSync(path, 'w');
  }

  add(c: Candidate): void {
    if (this.used + RECORD > BUFFER) this.flush();
    const o = this.used;
    this.buf.writeUInt32LE(c.shard, o);
    this.buf.writeUInt32LE(c.ordinal, o + 4);
    this.buf.writeFloatLE(c.score, o + 8);
    this.buf.writeUInt32LE(c.keyHash, o + 12);
    this.used += RECORD;
    this.count++;
  }

  private flush(): void {
    let off = 0;
    while (off < this.used) off += writeSync(this.fd, this.buf, off, this.used - off);
    this.used = 0;
  }

  close(): void {
    this.flush();
    closeSync(this.fd);
  }
}

/** The candidates of a file, in the order written. */
export function* readCandidates(path: string): Generator<Candidate> {
  const fd = openSync(path, 'r');
  const buf = Buffer.alloc(BUFFER);
  try {
    let carry = 0;
    for (;;) {
      const n = readSync(fd, buf, carry, BUFFER - carry, null);
      const end = carry + n;
      const whole = end - (end % RECORD);
      for (let o = 0; o < whole; o += RECORD) {
        yield { shard: buf.readUInt32LE(o), ordinal: buf.readUInt32LE(o + 4), score: buf.readFloatLE(o + 8), keyHash: buf.readUInt32LE(o + 12) };
      }
      carry = end - whole;
      if (carry > 0) buf.copy(buf, 0, whole, end);
      if (n === 0) break;
    }
  } finally {
    closeSync(fd);
  }
}
