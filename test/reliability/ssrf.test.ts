// Address checks on the address actually connected to: every IPv4 embedding in IPv6 (mapped, translated,
// compatible, NAT64 well-known and local-use, 6to4, Teredo) is refused in IP-literal URLs, in DNS answers and
// after redirects, and the socket's peer is checked before the request is written. No test connects anywhere
// but 127.0.0.1: names resolve through a stub (no DNS query), and a guard on every socket refuses any other peer.
import http from 'node:http';
import net from 'node:net';
import type { LookupAddress } from 'node:dns';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { checkUrl, guardedLookup, isBlockedAddress, RefusedError, type Resolver } from '../../src/data/ingest/address-policy.js';
import { fetchImage, type FetchOptions } from '../../src/data/ingest/fetcher.js';
import { isNonPublicAddress, parseIpv6 } from '../../src/util/ip-address.js';
import { startTestServer, type TestServer } from '../support/ingest-server.js';

let server: TestServer;
/** Every peer address a socket in this file was about to connect to. */
const peers: string[] = [];

beforeAll(async () => {
  server = await startTestServer();
  const original = net.Socket.prototype.connect;
  vi.spyOn(net.Socket.prototype, 'connect').mockImplementation(function (this: net.Socket, ...args: unknown[]) {
    type Lookup = (h: unknown, opts: unknown, cb: (e: Error | null, a?: string | LookupAddress[], f?: number) => void) => void;
    const o = (Array.isArray(args[0]) ? args[0][0] : args[0]) as { host?: string; lookup?: Lookup } | undefined;
    if (o && typeof o === 'object') {
      const host = o.host ?? '';
      if (net.isIP(host)) {
        peers.push(host);
        if (host !== '127.0.0.1') throw new Error(`test guard: connect to ${host} blocked`);
      } else if (o.lookup) {
        const inner = o.lookup;
        o.lookup = (h, opts, cb) =>
          inner(h, opts, (err, addr, fam) => {
            if (err || addr === undefined) return cb(err, addr, fam);
            const list = Array.isArray(addr) ? addr.map((a) => a.address) : [addr];
            peers.push(...list);
            if (list.some((a) => a !== '127.0.0.1')) return cb(new Error(`test guard: connect to ${list.join(', ')} blocked`));
            cb(null, addr, fam);
          });
      }
    }
    return (original as (...a: unknown[]) => net.Socket).apply(this, args);
  });
});
afterAll(async () => {
  vi.restoreAllMocks();
  await server.close();
});

/** A resolver stub: names to fixed answers (no DNS query is ever made). */
const stub = (answers: Record<string, string[]>): Resolver => (host, _o, cb) => {
  const a = answers[host];
  if (!a) return cb(Object.assign(new Error(`ENOTFOUND ${host}`), { code: 'ENOTFOUND' }), []);
  cb(null, a.map((address) => ({ address, family: net.isIP(address) })));
};

// Every spelling refers to a non-public IPv4 address (loopback, metadata 169.254.169.254, private 10.x) or
// to a non-public IPv6 range.
const HOSTILE = [
  '::127.0.0.1', '::7f00:1', '::169.254.169.254', '::a9fe:a9fe', // IPv4-compatible
  '::ffff:127.0.0.1', '::FFFF:7F00:0001', '0:0:0:0:0:ffff:a9fe:a9fe', // IPv4-mapped
  '::ffff:0:127.0.0.1', '::ffff:0:7f00:1', '::ffff:0:169.254.169.254', // IPv4-translated (SIIT)
  '64:ff9b::127.0.0.1', '64:ff9b::a9fe:a9fe', '64:ff9b::10.1.2.3', // NAT64 well-known prefix
  '64:ff9b:1::808:808', '64:ff9b:1:ffff::1', // NAT64 local-use prefix: refused whatever it embeds
  '2002:7f00:1::1', '2002:a9fe:a9fe::', '2002:0a00:0001:1234::5', // 6to4
  '2001:0:7f00:1::1', '2001:0:4136:e378:8000:63bf:f5ff:fffe', // Teredo: server 127.0.0.1; client ~f5ff:fffe = 10.0.0.1
  '::', '::1', 'fe80::1%eth0', 'fd00:ec2::254', '2001:db8::1', '3fff::1', '5f00::1', 'ff02::1', '2001:2::1',
  '[::ffff:127.0.0.1]',
];
const PUBLIC = ['8.8.8.8', '2606:4700::1111', '::ffff:8.8.8.8', '64:ff9b::808:808', '2002:808:808::1', '2001:0:4136:e378:8000:63bf:f7f7:f7f7', '2a00:1450:4001:82b::200e'];

describe('IP classification', () => {
  it('parses IPv6 to bytes whatever the spelling', () => {
    expect(Array.from(parseIpv6('::127.0.0.1')!)).toEqual(Array.from(parseIpv6('0:0:0:0:0:0:7F00:0001')!));
    expect(Array.from(parseIpv6('::ffff:0:7f00:1')!.subarray(8))).toEqual([0xff, 0xff, 0, 0, 127, 0, 0, 1]);
    expect(parseIpv6('1.2.3.4')).toBeNull();
    expect(parseIpv6('not:an:address::x')).toBeNull();
  });

  it('refuses every embedding of a non-public IPv4 address and every non-public IPv6 range', () => {
    for (const a of HOSTILE) expect(isNonPublicAddress(a), a).toBe(true);
    for (const a of PUBLIC) expect(isNonPublicAddress(a), a).toBe(false);
  });

  it('refuses the literals in URLs (the URL parser turns ::a.b.c.d into hex first)', () => {
    for (const a of HOSTILE.filter((x) => !x.includes('%') && !x.startsWith('['))) {
      const url = `http://[${a}]:80/x.jpg`;
      expect(() => checkUrl(url, false), url).toThrow(RefusedError);
    }
    expect(checkUrl('http://[2606:4700::1111]/x.jpg', false).hostname).toBe('[2606:4700::1111]');
  });
});

describe('after DNS resolution', () => {
  it('a name whose A/AAAA answer is non-public is refused before any connection', async () => {
    const before = server.totalRequests();
    peers.length = 0;
    const answers: Record<string, string[]> = {};
    HOSTILE.filter((a) => !a.startsWith('[')).forEach((a, i) => (answers[`h${i}.evil.test`] = [a]));
    answers['mixed.evil.test'] = ['8.8.8.8', '::ffff:169.254.169.254'];
    for (const host of Object.keys(answers)) {
      const r = await fetchImage(`http://${host}:${server.port}/good/1.jpg`, { ...OPTS, resolve: stub(answers) });
      expect(r, host).toMatchObject({ ok: false, error: 'refused_address' });
    }
    expect(peers).toEqual([]);
    expect(server.totalRequests()).toBe(before);
  });

  it('the guarded lookup hands the socket exactly the addresses it checked', async () => {
    const look = guardedLookup(false, isBlockedAddress, stub({ 'ok.test': ['8.8.8.8', '2606:4700::1111'] }));
    const got = await new Promise<unknown>((resolve) => look('ok.test', { all: true }, (e, a) => resolve(e ?? a)));
    expect(got).toEqual([{ address: '8.8.8.8', family: 4 }, { address: '2606:4700::1111', family: 6 }]);
  });
});

// The test server is 127.0.0.1; only that exact string is allowed, every other address follows the policy.
const OPTS: FetchOptions = {
  timeoutMs: 2000, retries: 0, maxBytes: 1 << 20, maxRedirects: 5, allowPrivateHosts: false,
  isRefusedAddress: (ip) => ip !== '127.0.0.1' && isBlockedAddress(ip), backoffBaseMs: 1, maxRetryAfterMs: 1000, userAgent: 'test',
};

describe('after redirects', () => {
  it('a redirect to any embedding of loopback or metadata, by literal or by name, is refused', async () => {
    const p = server.port;
    const resolve = stub({ 'rebind.evil.test': ['::ffff:127.0.0.1'], 'meta.evil.test': ['64:ff9b::a9fe:a9fe'] });
    const to = (u: string) => `${server.base}/to/x?u=${encodeURIComponent(u)}`;
    const before = server.totalRequests();
    peers.length = 0;
    const targets = [`http://[::ffff:7f00:1]:${p}/good/1.jpg`, `http://[::127.0.0.1]:${p}/good/1.jpg`, `http://[::ffff:0:127.0.0.1]:${p}/good/1.jpg`,
      `http://[2002:7f00:1::]:${p}/good/1.jpg`, `http://rebind.evil.test:${p}/good/1.jpg`, 'http://meta.evil.test/latest/meta-data/'];
    for (const t of targets) expect(await fetchImage(to(t), { ...OPTS, resolve }), t).toMatchObject({ ok: false, error: 'refused_address' });
    expect(server.totalRequests() - before).toBe(targets.length); // the /to hops only
    expect(peers.every((a) => a === '127.0.0.1')).toBe(true);
  });
});

describe('the peer actually connected to', () => {
  it('is checked before the request is written, even when an agent resolves the name its own way', async () => {
    // An agent that ignores the guarded lookup and connects straight to the test server (a misconfigured proxy,
    // a custom agent): the peer check refuses 127.0.0.1 before a byte of the request is sent.
    class DirectAgent extends http.Agent {
      override createConnection(): net.Socket {
        return net.connect({ host: '127.0.0.1', port: server.port });
      }
    }
    const agent = new DirectAgent();
    const before = server.totalRequests();
    const r = await fetchImage('http://public.example.test/good/1.jpg', {
      ...OPTS, isRefusedAddress: isBlockedAddress, resolve: stub({ 'public.example.test': ['8.8.8.8'] }), agents: { http: agent, https: new (await import('node:https')).Agent() },
    });
    expect(r).toMatchObject({ ok: false, error: 'refused_address' });
    expect(r.ok ? '' : r.message).toMatch(/connected to refused address (::ffff:)?127\.0\.0\.1/);
    // Give the server a moment's chance to see a request that should never come: the count is the assertion.
    await new Promise((res) => setImmediate(res));
    expect(server.totalRequests()).toBe(before);
    agent.destroy();
  });
});
