// For tests only: a 127.0.0.1 HTTP server that plays the web's failure modes (404, 429-then-OK, 503, slow,
// redirect loops, HTML named .jpg, truncated JPEG, oversized bodies, a decompression bomb) and counts requests.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { deflateSync } from 'node:zlib';
import sharp from 'sharp';

export interface TestServer {
  base: string;
  port: number;
  /** Requests seen per path. */
  hits: Map<string, number>;
  /** Request times (ms) per path. */
  times: Map<string, number[]>;
  totalRequests(): number;
  /** While on, /hold/* requests wait; turning it off answers them (and later ones at once) as /good/. */
  hold(on: boolean): void;
  close(): Promise<void>;
}

export interface TestServerOptions {
  /** Delay before answering /good/* (to make runs slow enough to interrupt). */
  goodDelayMs?: number;
  /** Hold time of /slow/* before answering; default: never (it stalls until the server closes), so a client
   * timeout is the only way out however loaded the machine is. */
  slowMs?: number;
}

/** A deterministic 300×200 JPEG whose colour depends on `n`. */
export async function goodJpeg(n: number): Promise<Buffer> {
  const bg = { r: (n * 53) % 256, g: (n * 97) % 256, b: (n * 31) % 256 };
  return sharp({ create: { width: 300, height: 200, channels: 3, background: bg } }).jpeg({ quality: 90 }).toBuffer();
}

/** A 120×160 PNG with transparency. */
export async function goodPng(n: number): Promise<Buffer> {
  const bg = { r: (n * 71) % 256, g: 40, b: 200, alpha: 0.5 };
  return sharp({ create: { width: 120, height: 160, channels: 4, background: bg } }).png().toBuffer();
}

/** A noisy JPEG cut at 60%: valid header, missing scan data. */
export async function truncatedJpeg(): Promise<Buffer> {
  const raw = Buffer.alloc(256 * 192 * 3);
  for (let i = 0; i < raw.length; i++) raw[i] = ((i * 2654435761) >>> 24) & 255;
  const full = await sharp(raw, { raw: { width: 256, height: 192, channels: 3 } }).jpeg().toBuffer();
  return full.subarray(0, Math.floor(full.length * 0.6));
}

function crc32(buf: Buffer): number {
  let crc = 0xffffffff;
  for (const byte of buf) {
    let c = (crc ^ byte) & 0xff;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    crc = (crc >>> 8) ^ c;
  }
  return (crc ^ 0xffffffff) >>> 0;
}

function pngChunk(type: string, data: Buffer): Buffer {
  const len = Buffer.alloc(4);
  len.writeUInt32BE(data.length);
  const body = Buffer.concat([Buffer.from(type, 'latin1'), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(body));
  return Buffer.concat([len, body, crc]);
}

/** A ~80-byte PNG whose header declares 100000×100000 RGB pixels (30 GB decoded). */
export function bombPng(): Buffer {
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(100_000, 0);
  ihdr.writeUInt32BE(100_000, 4);
  ihdr[8] = 8; // bit depth
  ihdr[9] = 2; // RGB
  const sig = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
  return Buffer.concat([sig, pngChunk('IHDR', ihdr), pngChunk('IDAT', deflateSync(Buffer.alloc(1000))), pngChunk('IEND', Buffer.alloc(0))]);
}

/**
 * Routes by first path segment: good, 404, 429 (429 with Retry-After: 0 first, then OK), 429slow (Retry-After: 1
 * first), 429long (always Retry-After: 120), 503 (always), slow, loop (302 to itself), redirect (302 to /good/…),
 * html (text/html), liar (image/jpeg header, HTML body), truncated, large (declared Content-Length), largechunked
 * (no length), bomb, to (302 to the URL in ?u=), hold (waits while `hold(true)`).
 */
export async function startTestServer(opts: TestServerOptions = {}): Promise<TestServer> {
  const truncated = await truncatedJpeg();
  const bomb = bombPng();
  const goods = new Map<string, Buffer>();
  const hits = new Map<string, number>();
  const times = new Map<string, number[]>();
  const timers = new Set<NodeJS.Timeout>();
  const later = (ms: number, fn: () => void) => {
    const t = setTimeout(() => {
      timers.delete(t);
      fn();
    }, ms);
    timers.add(t);
  };
  let holding = false;
  const held: (() => void)[] = [];
  const good = async (name: string): Promise<Buffer> => {
    const n = Number(/(\d+)/.exec(name)?.[1] ?? 0);
    if (!goods.has(name)) goods.set(name, name.endsWith('.png') ? await goodPng(n) : await goodJpeg(n));
    return goods.get(name)!;
  };
  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    const path = url.pathname;
    const n = (hits.get(path) ?? 0) + 1;
    hits.set(path, n);
    times.set(path, [...(times.get(path) ?? []), Date.now()]);
    const [, kind = '', name = ''] = path.split('/');
    const sendGood = async (file: string) => {
      const body = await good(file);
      res.writeHead(200, { 'content-type': file.endsWith('.png') ? 'image/png' : 'image/jpeg', 'content-length': body.length });
      res.end(body);
    };
    const fail = (e: unknown) => {
      res.writeHead(500);
      res.end(String(e));
    };
    switch (kind) {
      case 'good':
        if (opts.goodDelayMs) later(opts.goodDelayMs, () => void sendGood(name).catch(fail));
        else void sendGood(name).catch(fail);
        return;
      case '404':
        res.writeHead(404, { 'content-type': 'text/plain' });
        return res.end('not found');
      case '429':
      case '429slow':
        if (n === 1) {
          res.writeHead(429, { 'retry-after': kind === '429slow' ? '1' : '0' });
          return res.end();
        }
        return void sendGood(name).catch(fail);
      case '429long':
        res.writeHead(429, { 'retry-after': '120' });
        return res.end();
      case '503':
        res.writeHead(503);
        return res.end();
      case 'slow':
        if (opts.slowMs !== undefined) later(opts.slowMs, () => void sendGood(name).catch(fail));
        return;
      case 'hold':
        if (holding) held.push(() => void sendGood(name).catch(fail));
        else void sendGood(name).catch(fail);
        return;
      case 'loop':
        res.writeHead(302, { location: path });
        return res.end();
      case 'redirect':
        res.writeHead(302, { location: `/good/${name}` });
        return res.end();
      case 'to':
        res.writeHead(302, { location: url.searchParams.get('u') ?? '/' });
        return res.end();
      case 'html':
        res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
        return res.end('<!doctype html><html><body>not an image</body></html>');
      case 'liar':
        res.writeHead(200, { 'content-type': 'image/jpeg' });
        return res.end('<!doctype html><html><body>pretending to be a jpeg</body></html>');
      case 'truncated':
        res.writeHead(200, { 'content-type': 'image/jpeg', 'content-length': truncated.length });
        return res.end(truncated);
      case 'large':
        // Declares 64 MiB; the client must give up on the header alone.
        res.writeHead(200, { 'content-type': 'image/jpeg', 'content-length': 64 * 1024 * 1024 });
        res.write(Buffer.alloc(1024, 0xff));
        return;
      case 'largechunked': {
        res.writeHead(200, { 'content-type': 'image/jpeg' });
        const chunk = Buffer.alloc(64 * 1024, 0xd8);
        chunk[0] = 0xff;
        let sent = 0;
        const pump = () => {
          while (sent < 4 * 1024 * 1024 && !res.destroyed) {
            sent += chunk.length;
            if (!res.write(chunk)) return void res.once('drain', pump);
          }
          res.end();
        };
        return pump();
      }
      case 'bomb':
        res.writeHead(200, { 'content-type': 'image/png', 'content-length': bomb.length });
        return res.end(bomb);
      default:
        res.writeHead(404);
        return res.end();
    }
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  return {
    base: `http://127.0.0.1:${port}`,
    port,
    hits,
    times,
    totalRequests: () => [...hits.values()].reduce((a, b) => a + b, 0),
    hold: (on) => {
      holding = on;
      if (!on) held.splice(0).forEach((f) => f());
    },
    close: async () => {
      for (const t of timers) clearTimeout(t);
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}
