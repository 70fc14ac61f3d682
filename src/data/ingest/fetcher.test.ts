// Fetcher details not covered by the end-to-end run: Retry-After parsing and HTTPS with an untrusted
// certificate (a TLS error, never retried).
import { describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fetchImage, parseRetryAfter } from './fetcher.js';
import { describeWith } from '../../../test/support/external.js';

function hasOpenssl(): boolean {
  try {
    execFileSync('openssl', ['version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

describe('fetcher', () => {
  it('parses Retry-After as seconds or an HTTP date', () => {
    expect(parseRetryAfter('3')).toBe(3000);
    expect(parseRetryAfter(undefined)).toBeUndefined();
    expect(parseRetryAfter('soon')).toBeUndefined();
    const now = Date.parse('Wed, 21 Oct 2015 07:28:00 GMT');
    expect(parseRetryAfter('Wed, 21 Oct 2015 07:28:05 GMT', now)).toBe(5000);
  });
});

const openssl = { name: 'openssl', available: hasOpenssl(), why: 'no openssl on PATH to make a self-signed certificate (apt-get install openssl)' };

describeWith(openssl, 'fetcher over TLS', () => {
  it('fails an untrusted HTTPS certificate as tls_error without retrying', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'cliplab-tls-'));
    execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', join(dir, 'k.pem'), '-out', join(dir, 'c.pem'), '-subj', '/CN=localhost', '-days', '1'], { stdio: 'ignore' });
    let hits = 0;
    const server = https.createServer({ key: readFileSync(join(dir, 'k.pem')), cert: readFileSync(join(dir, 'c.pem')) }, (_req, res) => {
      hits++;
      res.end('x');
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    try {
      const port = (server.address() as AddressInfo).port;
      const r = await fetchImage(`https://127.0.0.1:${port}/a.jpg`, {
        timeoutMs: 2000, retries: 3, maxBytes: 1 << 20, maxRedirects: 5, allowPrivateHosts: true, backoffBaseMs: 1, maxRetryAfterMs: 1000, userAgent: 'test',
      });
      expect(r).toMatchObject({ ok: false, error: 'tls_error', attempts: 1 });
      expect(hits).toBe(0);
    } finally {
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
