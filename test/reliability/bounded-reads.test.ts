// Every count, size and length read from a file is bounded before it is trusted, with the limit in the error:
// a gzip checkpoint that inflates far beyond its size (a decompression bomb) is refused.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { GZIP_MIN_LIMIT, readSafetensors } from '../../src/models/safetensors.js';

const root = mkdtempSync(join(tmpdir(), 'cliplab-bounded-'));

describe('gzip checkpoints', () => {
  it('a 1 GiB bomb in a small file is refused at the limit, naming it', async () => {
    const file = join(root, 'bomb.safetensors.gz');
    const n = 1 << 30;
    const header = Buffer.from(JSON.stringify({ w: { dtype: 'F32', shape: [n / 4], data_offsets: [0, n] } }).padEnd(64, ' '));
    const len = Buffer.alloc(8);
    len.writeBigUInt64LE(BigInt(header.length));
    // Gzip members concatenated decode as one stream: one compressed MiB of zeros, repeated, makes the bomb fast.
    const zeros = gzipSync(Buffer.alloc(1 << 20), { level: 9 });
    const parts = [gzipSync(Buffer.concat([len, header])), ...Array.from({ length: n >> 20 }, () => zeros)];
    writeFileSync(file, Buffer.concat(parts));
    const err = (await readSafetensors(file).catch((e: unknown) => e)) as Error;
    const m = new RegExp(`^${file}: gzip data decompresses to more than (\\d+) bytes, the limit for a (\\d+)-byte file \\(100× its size, at least ${GZIP_MIN_LIMIT} bytes\\): refusing it$`).exec(err.message);
    expect(m, err.message).not.toBeNull();
    expect(Number(m![1])).toBe(Math.max(GZIP_MIN_LIMIT, 100 * Number(m![2])));
    expect(Number(m![1])).toBeLessThan(n);
  });
});
