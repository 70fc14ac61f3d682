// The live report: an HTTP server on 127.0.0.1 that re-renders the report when its inputs change
// (polling file signatures) and tells open pages through `/version`, which they poll.
import { existsSync, readdirSync, statSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { isIP, type AddressInfo } from 'node:net';
import { join } from 'node:path';
import { renderReportHtml } from './html.js';
import { loadReportInput, theoryFile } from './report-input.js';

export interface ServeOptions {
  dir: string;
  host?: string;
  /** 0 picks a free port. */
  port?: number;
  /** How often to check the inputs for changes (ms). */
  pollMs?: number;
  onChange?: (version: number, error: string | null) => void;
}

export interface ReportServer {
  url: string;
  port: number;
  version(): number;
  close(): Promise<void>;
}

/** Path, size and mtime of every file under the given paths: changes when any file does. */
export function signature(paths: string[]): string {
  const parts: string[] = [];
  const walk = (p: string, depth: number): void => {
    if (!existsSync(p) || depth > 8) return;
    const st = statSync(p);
    if (st.isDirectory()) {
      for (const e of readdirSync(p).sort()) if (!e.startsWith('.')) walk(join(p, e), depth + 1);
    } else parts.push(`${p}:${st.size}:${st.mtimeMs}`);
  };
  for (const p of paths) walk(p, 0);
  return parts.join('\n');
}

/**
 * Whether a request's Host header names this server: an IP address, `localhost`, or the name given as --host.
 * A DNS-rebinding page sends its own domain name, which is none of these.
 */
function allowedHost(header: string | undefined, names: ReadonlySet<string>): boolean {
  if (header === undefined) return false;
  const m = /^(\[[0-9a-f:.]+\]|[^:]+)(?::\d{1,5})?$/i.exec(header.trim());
  if (!m) return false;
  const name = m[1]!.toLowerCase();
  return isIP(name.replace(/^\[|\]$/g, '')) !== 0 || names.has(name);
}

export async function serveReport(opts: ServeOptions): Promise<ReportServer> {
  const dir = opts.dir;
  const pollMs = opts.pollMs ?? 1000;
  let version = 1;
  let error: string | null = null;
  let input = await loadReportInput(dir);
  let html = await renderReportHtml(input, { live: { version } });

  // What to watch: the directory's own report files, and the result files the analysis was made from.
  const ownPaths = (): string[] => {
    const paths = [join(dir, 'robustness.json'), join(dir, 'samples')];
    const tf = theoryFile(dir);
    if (tf) paths.push(tf);
    if (input.analysisSource === dir) paths.push(dir);
    return paths;
  };
  const inputPaths = (): string[] => (input.analysisSource !== dir ? (input.analysis?.inputs.paths ?? []) : []);
  let ownSig = signature(ownPaths());
  let inputSig = signature(inputPaths());
  let busy = false;

  const check = async (): Promise<void> => {
    if (busy) return;
    busy = true;
    try {
      const own = signature(ownPaths());
      const inp = signature(inputPaths());
      if (own === ownSig && inp === inputSig) return;
      const reanalyze = inp !== inputSig;
      ownSig = own;
      inputSig = inp;
      try {
        input = await loadReportInput(dir, { reanalyze });
        error = null;
      } catch (err) {
        error = `Could not refresh the report: ${(err as Error).message}`;
      }
      version++;
      html = await renderReportHtml(input, { live: { version }, ...(error ? { error } : {}) });
      opts.onChange?.(version, error);
    } finally {
      busy = false;
    }
  };
  const allowed = new Set(['localhost', ...(opts.host ? [opts.host.toLowerCase()] : [])]);
  const server: Server = createServer((req, res) => {
    // DNS rebinding: a page on evil.example whose name now resolves to 127.0.0.1 reaches this server with its
    // own name in Host. Only requests addressed to this server by its address (or localhost) are answered.
    if (!allowedHost(req.headers.host, allowed)) {
      res.writeHead(421, { 'content-type': 'text/plain' });
      res.end('misdirected request: unknown Host\n');
      return;
    }
    const path = (req.url ?? '/').split('?')[0];
    if (path === '/' || path === '/index.html') {
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' });
      res.end(html);
    } else if (path === '/version') {
      res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'no-store' });
      res.end(JSON.stringify({ version, error }));
    } else if (path === '/robustness.json' && input.analysis) {
      res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'no-store' });
      res.end(JSON.stringify(input.analysis));
    } else {
      res.writeHead(404, { 'content-type': 'text/plain' });
      res.end('not found\n');
    }
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, opts.host ?? '127.0.0.1', () => resolve());
  });
  const addr = server.address() as AddressInfo;
  const host = addr.family === 'IPv6' ? `[${addr.address}]` : addr.address;
  // Polling starts only once the server listens: a refused listen (port in use) leaves no timer that would
  // keep the process alive.
  const timer = setInterval(() => void check().catch(() => undefined), pollMs);
  return {
    url: `http://${host}:${addr.port}/`,
    port: addr.port,
    version: () => version,
    close: () =>
      new Promise<void>((resolve) => {
        clearInterval(timer);
        server.closeAllConnections?.();
        server.close(() => resolve());
      }),
  };
}
