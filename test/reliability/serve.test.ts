// The report server: it answers only requests addressed to it by address or localhost (a DNS-rebinding page
// sends its own name in Host), and `cliplab serve` on a port already in use says so in one line and exits.
import { spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import http from 'node:http';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { serveReport, type ReportServer } from '../../src/analysis/report/serve.js';
import { SYNTHETIC_DESIGNS, syntheticResults } from '../support/synthetic-results.js';
import { writeJsonAtomic } from '../../src/util/fs.js';

const repo = fileURLToPath(new URL('../../', import.meta.url));
const root = mkdtempSync(join(tmpdir(), 'cliplab-serve-rel-'));
const results = join(root, 'results');
let server: ReportServer;

beforeAll(async () => {
  const designs = SYNTHETIC_DESIGNS.filter((d) => ['baseline', 'twemoji'].includes(d.name));
  for (const r of syntheticResults({ designs })) await writeJsonAtomic(join(results, `${r.model}__${r.dataset}.json`), r);
  server = await serveReport({ dir: results, port: 0, pollMs: 1000 });
});
afterAll(() => server.close());

/** GET / with the given Host header (fetch cannot set Host): the status code. */
const get = (host: string, path = '/'): Promise<number> =>
  new Promise((resolve, reject) => {
    http.get({ host: '127.0.0.1', port: server.port, path, headers: { host } }, (res) => {
      res.resume();
      resolve(res.statusCode!);
    }).on('error', reject);
  });

describe('serve and the Host header', () => {
  it('answers its own address and localhost', async () => {
    for (const h of [`127.0.0.1:${server.port}`, `localhost:${server.port}`, 'LOCALHOST', '127.0.0.1', `[::1]:${server.port}`]) expect(await get(h), h).toBe(200);
  });

  it('refuses any other name (DNS rebinding), on every path', async () => {
    for (const h of [`evil.example:${server.port}`, 'evil.example', 'localhost.evil.example', `127.0.0.1.nip.io:${server.port}`, 'a:b:c'])
      for (const path of ['/', '/robustness.json', '/version']) expect(await get(h, path), `${h} ${path}`).toBe(421);
  });
});

describe('cliplab serve on a busy port', () => {
  let busy: Server;
  beforeAll(async () => {
    busy = createServer();
    await new Promise<void>((r) => busy.listen(0, '127.0.0.1', r));
  });
  afterAll(() => new Promise<void>((r) => busy.close(() => r())));

  it('prints one line naming the port and exits 1 (it used to keep running)', async () => {
    const port = (busy.address() as { port: number }).port;
    const child = spawn(process.execPath, ['bin/cliplab.js', 'serve', '--in', results, '--port', String(port)], { cwd: repo });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    // The backstop: a process that never exits is killed after 30 s and the test fails on its code.
    const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
    const code = await new Promise<number | null>((r) => child.once('exit', (c) => r(c)));
    clearTimeout(timer);
    expect(code, stderr).toBe(1);
    expect(stderr.trim().split('\n')).toEqual([`cliplab: --port: port ${port} is in use`]);
  }, 40_000);
});
