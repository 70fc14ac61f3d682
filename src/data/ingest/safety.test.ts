// Safety: refused addresses and schemes are counted and never contacted (no request reaches the server, no
// socket to a non-loopback address is opened), every redirect hop is re-checked, writes stay under --out.
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import net from 'node:net';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { checkUrl, isBlockedAddress, RefusedError } from './address-policy.js';
import { fetchImage, type FetchOptions } from './fetcher.js';
import { ingest } from './ingest.js';
import { startTestServer, type TestServer } from '../../../test/support/ingest-server.js';
import { allSamples } from '../../../test/support/ingest-helpers.js';

let server: TestServer;
let dir: string;
/** Hosts every socket in this file tried to connect to. */
const connects: string[] = [];

beforeAll(async () => {
  server = await startTestServer();
  dir = await mkdtemp(join(tmpdir(), 'cliplab-safety-'));
  const original = net.Socket.prototype.connect;
  vi.spyOn(net.Socket.prototype, 'connect').mockImplementation(function (this: net.Socket, ...args: unknown[]) {
    const first = (Array.isArray(args[0]) ? args[0][0] : args[0]) as { host?: string } | undefined;
    const host = first?.host ?? '';
    connects.push(host);
    if (host !== '127.0.0.1' && host !== 'localhost') throw new Error(`test guard: connect to ${host} blocked`);
    return (original as (...a: unknown[]) => net.Socket).apply(this, args);
  });
});
afterAll(async () => {
  vi.restoreAllMocks();
  await server.close();
  await rm(dir, { recursive: true, force: true });
});

describe('address policy', () => {
  it('refuses loopback, private, link-local, metadata, shared, reserved and unspecified addresses', () => {
    for (const ip of ['127.0.0.1', '127.9.9.9', '10.1.2.3', '172.16.0.1', '172.31.255.255', '192.168.1.1', '169.254.169.254',
      '100.100.100.200', '0.0.0.0', '255.255.255.255', '224.0.0.1', '::1', '::', 'fe80::1', 'fd00:ec2::254', 'fc00::1',
      '::ffff:127.0.0.1', '::ffff:7f00:1', '::ffff:10.0.0.1', '64:ff9b::a9fe:a9fe', 'ff02::1']) {
      expect(isBlockedAddress(ip), ip).toBe(true);
    }
    for (const ip of ['93.184.216.34', '8.8.8.8', '172.32.0.1', '2606:4700::1111', '::ffff:8.8.8.8']) {
      expect(isBlockedAddress(ip), ip).toBe(false);
    }
  });

  it('checks schemes and IP-literal hosts before connecting, in every spelling', () => {
    const reason = (u: string) => {
      try {
        checkUrl(u, false);
        return 'ok';
      } catch (e) {
        return (e as RefusedError).reason;
      }
    };
    expect(reason('file:///etc/passwd')).toBe('refused_scheme');
    expect(reason('ftp://example.com/a.jpg')).toBe('refused_scheme');
    expect(reason('data:image/png;base64,AAAA')).toBe('refused_scheme');
    expect(reason('not a url')).toBe('invalid_url');
    for (const u of ['http://127.0.0.1/', 'http://2130706433/', 'http://0x7f.1/', 'http://[::1]/', 'http://10.0.0.1/x.jpg',
      'https://169.254.169.254/latest/meta-data/', 'http://[::ffff:169.254.169.254]/', 'http://0.0.0.0:80/']) {
      expect(reason(u), u).toBe('refused_address');
    }
    expect(reason('https://example.com/a.jpg')).toBe('ok');
    expect(reason('http://127.0.0.1/')).toBe('refused_address');
    expect(checkUrl('http://127.0.0.1/', true).hostname).toBe('127.0.0.1');
  });
});

describe('ingest without --allow-private-hosts', () => {
  it('refuses and counts 127.0.0.1, localhost, 10.x, 169.254.169.254 and file:// without a request', async () => {
    const p = server.port;
    const urls = [
      `http://127.0.0.1:${p}/good/1.jpg`,
      `http://localhost:${p}/good/2.jpg`, // resolves to loopback: refused on the socket's lookup
      'http://10.0.0.1/a.jpg',
      'http://169.254.169.254/latest/meta-data/iam/security-credentials/',
      `http://[::1]:${p}/good/3.jpg`,
      `http://2130706433:${p}/good/4.jpg`,
      'file:///etc/passwd',
      'ftp://127.0.0.1/a.jpg',
    ];
    const meta = join(dir, 'private.tsv');
    await writeFile(meta, urls.map((u, i) => `${u}\tc${i}`).join('\n'));
    const before = server.totalRequests();
    connects.length = 0;
    const stats = await ingest({ source: 'cc12m', metadata: meta, out: join(dir, 'private'), timeoutMs: 1000, retries: 2, progress: false });
    expect(stats).toMatchObject({ count: 8, successes: 0, failed_to_download: 8, refused: 8 });
    expect(stats.status_dict).toEqual({ refused_address: 6, refused_scheme: 2 });
    expect(server.totalRequests()).toBe(before);
    expect(connects.filter((h) => h !== 'localhost')).toEqual([]);
  });

  it('re-checks every redirect hop', async () => {
    const p = server.port;
    const opts: FetchOptions = {
      timeoutMs: 1000,
      retries: 0,
      maxBytes: 1 << 20,
      maxRedirects: 5,
      allowPrivateHosts: false,
      // The server itself (127.0.0.1) is allowed; every other address follows the default policy.
      isRefusedAddress: (ip) => ip !== '127.0.0.1' && isBlockedAddress(ip),
      backoffBaseMs: 1,
      maxRetryAfterMs: 1000,
      userAgent: 'test',
    };
    const to = (u: string) => `${server.base}/to/x?u=${encodeURIComponent(u)}`;
    expect(await fetchImage(`${server.base}/redirect/1.jpg`, opts)).toMatchObject({ ok: true, status: 200 });
    const before = server.totalRequests();
    for (const [target, error] of [
      [`http://127.0.0.2:${p}/good/1.jpg`, 'refused_address'],
      [`http://[::1]:${p}/good/1.jpg`, 'refused_address'],
      ['http://169.254.169.254/latest/meta-data/', 'refused_address'],
      ['http://10.0.0.1/a.jpg', 'refused_address'],
      ['file:///etc/passwd', 'refused_scheme'],
    ] as const) {
      expect(await fetchImage(to(target), opts), target).toMatchObject({ ok: false, error, attempts: 1 });
    }
    expect(server.totalRequests() - before).toBe(5); // only the five /to hops
    expect(server.hits.get('/good/1.jpg')).toBe(1);
    expect(connects).toContain('127.0.0.1'); // the guard saw the sockets that were opened
    expect(connects.every((h) => h === '127.0.0.1' || h === 'localhost')).toBe(true);
  });
});

describe('never writes outside --out', () => {
  it('keys come from row indices, never from ids or URLs in the metadata', async () => {
    const meta = join(dir, 'evil.jsonl');
    await writeFile(meta, JSON.stringify({ url: `${server.base}/good/1.jpg?x=../../..`, caption: 'c', id: '../../../../tmp/pwned' }) + '\n');
    const out = join(dir, 'evil-out');
    const stats = await ingest({ source: 'generic', metadata: meta, out, allowPrivateHosts: true, progress: false });
    expect(stats.successes).toBe(1);
    const samples = await allSamples(out);
    expect(samples.map((s) => s.key)).toEqual(['000000000']);
    expect(samples[0]!.json!.id).toBe('../../../../tmp/pwned');
    expect((await readdir(dir)).sort()).toEqual(['evil-out', 'evil.jsonl', 'private', 'private.tsv']);
  });
});
