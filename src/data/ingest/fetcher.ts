// One image download over node:http(s): manual redirects (each hop re-checked), per-attempt timeout, body cap,
// retries with exponential backoff on 429/5xx/timeouts/resets (Retry-After honoured up to a cap), none on 4xx.
import http from 'node:http';
import https from 'node:https';
import { checkUrl, guardedLookup, isBlockedAddress, RefusedError, type Resolver } from './address-policy.js';

export interface FetchOptions {
  /** Per attempt: connect + headers + whole body. */
  timeoutMs: number;
  /** Extra attempts after the first, for retryable failures only. */
  retries: number;
  /** Bodies larger than this are abandoned (Content-Length checked first, then counted while streaming). */
  maxBytes: number;
  /** Redirect hops allowed per attempt. */
  maxRedirects: number;
  allowPrivateHosts: boolean;
  /** Which IPs are refused when private hosts are not allowed; default isBlockedAddress (tests narrow it). */
  isRefusedAddress?: (ip: string) => boolean;
  /** Host name resolution; default the system's (dns.lookup). Tests replace it so that no DNS query is made. */
  resolve?: Resolver;
  /** Backoff before retry k (0-based) is backoffBaseMs·2^k plus up to backoffBaseMs of jitter. */
  backoffBaseMs: number;
  /** A Retry-After longer than this is not waited for: the URL fails with its 429/503. */
  maxRetryAfterMs: number;
  userAgent: string;
  signal?: AbortSignal;
  /** Keep-alive agents shared by one ingest run (optional). */
  agents?: { http: http.Agent; https: https.Agent };
}

/** Why a download failed; these are the keys of `status_dict` in the stats. */
export type FetchErrorCode =
  | 'invalid_url'
  | 'refused_scheme'
  | 'refused_address'
  | 'dns_error'
  | 'connection_error'
  | 'tls_error'
  | 'timeout'
  | 'http_error'
  | 'redirect_loop'
  | 'too_many_redirects'
  | 'too_large';

export type FetchResult =
  | { ok: true; status: number; body: Buffer; contentType: string; finalUrl: string; attempts: number }
  | { ok: false; error: FetchErrorCode; status?: number; message: string; attempts: number };

class AttemptError extends Error {
  constructor(
    readonly code: FetchErrorCode,
    message: string,
    readonly retryable: boolean,
    readonly status?: number,
    readonly retryAfterMs?: number,
  ) {
    super(message);
  }
}

const REDIRECTS = new Set([301, 302, 303, 307, 308]);

/** Parses Retry-After (delta seconds or HTTP date) into milliseconds; undefined when absent or unparsable. */
export function parseRetryAfter(value: string | undefined, now = Date.now()): number | undefined {
  if (!value) return undefined;
  const v = value.trim();
  if (/^\d+$/.test(v)) return Number(v) * 1000;
  const t = Date.parse(v);
  return Number.isNaN(t) ? undefined : Math.max(0, t - now);
}

interface Response {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer | null;
}

/** One request to one URL (no redirect following). Resolves with the body only for 2xx responses. */
function requestOnce(url: URL, opts: FetchOptions, signal: AbortSignal): Promise<Response> {
  return new Promise((resolve, reject) => {
    const mod = url.protocol === 'https:' ? https : http;
    const agent = opts.agents ? (url.protocol === 'https:' ? opts.agents.https : opts.agents.http) : undefined;
    let settled = false;
    const finish = (err: Error | null, res?: Response) => {
      if (settled) return;
      settled = true;
      signal.removeEventListener('abort', onAbort);
      if (err) reject(err);
      else resolve(res!);
    };
    const req = mod.request(url, {
      method: 'GET',
      agent,
      lookup: guardedLookup(opts.allowPrivateHosts, opts.isRefusedAddress, opts.resolve) as never,
      headers: { 'user-agent': opts.userAgent, accept: 'image/*,*/*;q=0.8', 'accept-encoding': 'identity' },
    });
    const onAbort = () => req.destroy(signal.reason instanceof Error ? signal.reason : new Error('aborted'));
    signal.addEventListener('abort', onAbort, { once: true });
    req.on('error', (e) => finish(e));
    // The address actually connected to is checked too (whatever resolved it: an agent's own lookup, a proxy),
    // before the request is written.
    if (!opts.allowPrivateHosts) {
      const refused = opts.isRefusedAddress ?? isBlockedAddress;
      req.once('socket', (socket) => {
        const check = (): void => {
          const peer = socket.remoteAddress;
          if (peer !== undefined && refused(peer)) req.destroy(new RefusedError('refused_address', `connected to refused address ${peer}`));
        };
        if (socket.remoteAddress !== undefined) check();
        else socket.once('connect', check);
      });
    }
    req.on('response', (res) => {
      const status = res.statusCode ?? 0;
      if (status < 200 || status >= 300) {
        res.resume();
        finish(null, { status, headers: res.headers, body: null });
        req.destroy();
        return;
      }
      const declared = Number(res.headers['content-length']);
      if (Number.isFinite(declared) && declared > opts.maxBytes) {
        req.destroy();
        finish(new AttemptError('too_large', `Content-Length ${declared} exceeds ${opts.maxBytes} bytes`, false));
        return;
      }
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (c: Buffer) => {
        size += c.length;
        if (size > opts.maxBytes) {
          req.destroy();
          finish(new AttemptError('too_large', `body exceeds ${opts.maxBytes} bytes`, false));
          return;
        }
        chunks.push(c);
      });
      res.on('end', () => finish(null, { status, headers: res.headers, body: Buffer.concat(chunks) }));
      res.on('error', (e) => finish(e));
      res.on('aborted', () => finish(new AttemptError('connection_error', 'response aborted', true)));
    });
    req.end();
  });
}

function classify(e: unknown, timedOut: boolean): AttemptError {
  if (e instanceof AttemptError) return e;
  if (timedOut) return new AttemptError('timeout', 'timed out', true);
  if (e instanceof RefusedError) return new AttemptError(e.reason, e.message, false);
  const code = (e as NodeJS.ErrnoException).code ?? '';
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN' || code === 'ENODATA') return new AttemptError('dns_error', `${code}`, false);
  // Certificate and TLS protocol failures will not change on retry.
  if (/^(ERR_TLS|ERR_SSL|CERT_|UNABLE_TO_|DEPTH_ZERO|SELF_SIGNED|HOSTNAME_MISMATCH|ERR_CERT)/.test(code)) {
    return new AttemptError('tls_error', code, false);
  }
  return new AttemptError('connection_error', code || (e as Error).message || String(e), true);
}

/** One attempt: follows redirects (re-checking every hop) until a non-redirect response or a failure. */
async function attempt(start: string, opts: FetchOptions): Promise<FetchResult & { ok: true }> {
  const controller = new AbortController();
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    controller.abort(new Error('timeout'));
  }, opts.timeoutMs);
  const onOuterAbort = () => controller.abort(opts.signal?.reason);
  opts.signal?.addEventListener('abort', onOuterAbort, { once: true });
  const seen = new Set<string>();
  let current = start;
  try {
    for (let hop = 0; ; hop++) {
      let url: URL;
      try {
        url = checkUrl(current, opts.allowPrivateHosts, opts.isRefusedAddress);
      } catch (e) {
        throw classify(e, false);
      }
      seen.add(url.href);
      let res: Response;
      try {
        res = await requestOnce(url, opts, controller.signal);
      } catch (e) {
        if (opts.signal?.aborted) throw opts.signal.reason ?? new Error('aborted');
        throw classify(e, timedOut);
      }
      if (REDIRECTS.has(res.status)) {
        const location = res.headers.location;
        if (!location) throw new AttemptError('http_error', `HTTP ${res.status} without Location`, false, res.status);
        let next: string;
        try {
          next = new URL(location, url).href;
        } catch {
          throw new AttemptError('invalid_url', `bad redirect Location ${location.slice(0, 200)}`, false, res.status);
        }
        if (seen.has(next)) throw new AttemptError('redirect_loop', `redirect loop at ${next}`, false, res.status);
        if (hop + 1 > opts.maxRedirects) throw new AttemptError('too_many_redirects', `more than ${opts.maxRedirects} redirects`, false, res.status);
        current = next;
        continue;
      }
      if (res.status >= 200 && res.status < 300 && res.body) {
        return { ok: true, status: res.status, body: res.body, contentType: String(res.headers['content-type'] ?? ''), finalUrl: url.href, attempts: 1 };
      }
      const retryable = res.status === 429 || res.status >= 500;
      const ra = parseRetryAfter(res.headers['retry-after'] as string | undefined);
      throw new AttemptError('http_error', `HTTP ${res.status}`, retryable, res.status, ra);
    }
  } finally {
    clearTimeout(timer);
    opts.signal?.removeEventListener('abort', onOuterAbort);
  }
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason ?? new Error('aborted'));
    const t = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(t);
      reject(signal!.reason ?? new Error('aborted'));
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/** Downloads `url` under `opts`. Never throws for network or policy failures; rethrows an outer abort. */
export async function fetchImage(url: string, opts: FetchOptions): Promise<FetchResult> {
  for (let k = 0; ; k++) {
    try {
      const r = await attempt(url, opts);
      return { ...r, attempts: k + 1 };
    } catch (e) {
      if (!(e instanceof AttemptError)) throw e;
      let wait = opts.backoffBaseMs * 2 ** k + Math.random() * opts.backoffBaseMs;
      if (e.retryAfterMs !== undefined) {
        if (e.retryAfterMs > opts.maxRetryAfterMs) return fail(e, k + 1);
        wait = Math.max(wait, e.retryAfterMs);
      }
      if (!e.retryable || k >= opts.retries) return fail(e, k + 1);
      await sleep(wait, opts.signal);
    }
  }
}

function fail(e: AttemptError, attempts: number): FetchResult {
  return { ok: false, error: e.code, status: e.status, message: e.message, attempts };
}
