// Every count, size and length read from a file is bounded before it is trusted, with the limit in the error:
// a gzip checkpoint, or a torch.save zip with deflated records, that inflates far beyond its size (a
// decompression bomb) is refused.
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { constants, deflateRawSync, gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { GZIP_MIN_LIMIT, readSafetensors } from '../../src/models/safetensors.js';
import { readTorchCheckpoint } from '../../src/models/torch-read.js';
import { writeTorchCheckpoint } from '../../src/models/torch-write.js';

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

/** A zip of `records` (method 8 = deflate, with the stated uncompressed size; 0 = stored), CRCs left 0 (unread). */
function zipOf(records: { name: string; data: Buffer; method: 0 | 8; size: number }[]): Buffer {
  const parts: Buffer[] = [];
  const central: Buffer[] = [];
  let offset = 0;
  for (const r of records) {
    const name = Buffer.from(r.name);
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(20, 4);
    local.writeUInt16LE(r.method, 8);
    local.writeUInt32LE(r.data.length, 18);
    local.writeUInt32LE(r.size, 22);
    local.writeUInt16LE(name.length, 26);
    const cd = Buffer.alloc(46);
    cd.writeUInt32LE(0x02014b50, 0);
    cd.writeUInt16LE(20, 4);
    cd.writeUInt16LE(20, 6);
    cd.writeUInt16LE(r.method, 10);
    cd.writeUInt32LE(r.data.length, 20);
    cd.writeUInt32LE(r.size, 24);
    cd.writeUInt16LE(name.length, 28);
    cd.writeUInt32LE(offset, 42);
    parts.push(local, name, r.data);
    central.push(cd, name);
    offset += 30 + name.length + r.data.length;
  }
  const dir = Buffer.concat(central);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(records.length, 8);
  end.writeUInt16LE(records.length, 10);
  end.writeUInt32LE(dir.length, 12);
  end.writeUInt32LE(offset, 16);
  return Buffer.concat([...parts, dir, end]);
}

describe('torch.save checkpoints', () => {
  it('a deflated record that inflates past the limit is refused before it is allocated, naming it', async () => {
    // The pickle of a one-tensor state dict whose storage (and shape) is 4 MiB past the limit in float32s:
    // written for 65,536 floats, that count (a 4-byte BININT) patched in the pickle.
    const small = join(root, 'small.pt');
    await writeTorchCheckpoint(small, new Map([['w', { dtype: 'F32' as const, shape: [1 << 16], data: new Float32Array(1 << 16) }]]));
    const st = readFileSync(small);
    const pkl0 = st.subarray(30 + st.readUInt16LE(26) + st.readUInt16LE(28), 30 + st.readUInt16LE(26) + st.readUInt16LE(28) + st.readUInt32LE(18));
    const bytes = GZIP_MIN_LIMIT + (4 << 20);
    const count = Buffer.alloc(5);
    count[0] = 0x4a;
    count.writeInt32LE(bytes / 4, 1);
    const pkl = Buffer.from(pkl0.toString('latin1').replaceAll('J\x00\x00\x01\x00', count.toString('latin1')), 'latin1');
    expect(pkl.length).toBe(pkl0.length);
    // Non-final deflate blocks of one MiB of zeros each, repeated, then an empty final block: ~1 KB per MiB.
    const mib = deflateRawSync(Buffer.alloc(1 << 20), { level: 9, finishFlush: constants.Z_SYNC_FLUSH });
    const data = Buffer.concat([...Array.from({ length: bytes >> 20 }, () => mib), deflateRawSync(Buffer.alloc(0))]);
    const file = join(root, 'bomb.pt');
    writeFileSync(file, zipOf([
      { name: 'archive/data.pkl', data: pkl, method: 0, size: pkl.length },
      { name: 'archive/byteorder', data: Buffer.from('little'), method: 0, size: 6 },
      { name: 'archive/data/0', data, method: 8, size: bytes },
    ]));
    const size = readFileSync(file).length;
    expect(size).toBeLessThan(1 << 20);
    const err = (await readTorchCheckpoint(file).catch((e: unknown) => e)) as Error;
    expect(err).toBeInstanceOf(Error);
    expect(err.message).toBe(
      `${file}: record archive/data/0 (${bytes} bytes declared, ${bytes + pkl.length + 6} with the records before it) decompresses to more than ${GZIP_MIN_LIMIT} bytes, the limit for a ${size}-byte file (100× its size, at least ${GZIP_MIN_LIMIT} bytes): refusing it`,
    );
  });
});
