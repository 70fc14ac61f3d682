// Which URLs and addresses the downloader may contact: http(s) only, and by default no address that is not
// public (util/ip-address), checked on IP-literal hosts, on every DNS answer, and on the socket's peer.
import { isIP } from 'node:net';
import { isNonPublicAddress } from '../../util/ip-address.js';
import { lookup as dnsLookup, type LookupAddress, type LookupOptions } from 'node:dns';

/** True when `address` (an IP literal) is refused unless private hosts are allowed; non-IP strings are refused too. */
export function isBlockedAddress(address: string): boolean {
  return isNonPublicAddress(address);
}

/** A refusal by policy (never a network failure); `reason` is the stats key. */
export class RefusedError extends Error {
  override name = 'RefusedError';
  readonly code = 'ECLIPLAB_REFUSED';
  constructor(
    readonly reason: 'refused_scheme' | 'refused_address' | 'invalid_url',
    message: string,
  ) {
    super(message);
  }
}

/**
 * Parses and checks a URL before any connection: http(s) only, credentials-free host present, and an IP
 * literal host must not be refused. Hostnames are checked later, on the socket's DNS lookup.
 */
export function checkUrl(raw: string, allowPrivateHosts: boolean, isRefused: (ip: string) => boolean = isBlockedAddress): URL {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new RefusedError('invalid_url', `not a valid URL: ${raw.slice(0, 200)}`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new RefusedError('refused_scheme', `scheme ${url.protocol} is not http(s)`);
  }
  if (!url.hostname) throw new RefusedError('invalid_url', `no host in ${raw.slice(0, 200)}`);
  const host = url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname;
  if (!allowPrivateHosts && isIP(host) !== 0 && isRefused(host)) {
    throw new RefusedError('refused_address', `${host} is a loopback/private/link-local/reserved address`);
  }
  return url;
}

type LookupCallback = (err: NodeJS.ErrnoException | null, address: string | LookupAddress[], family?: number) => void;

/** Resolves a host name to every address (dns.lookup's `all: true`); replaceable so tests never query DNS. */
export type Resolver = (hostname: string, options: { family: number; hints?: number }, callback: (err: NodeJS.ErrnoException | null, addresses: LookupAddress[]) => void) => void;

const systemResolver: Resolver = (hostname, options, callback) => dnsLookup(hostname, { ...options, all: true }, callback);

/**
 * A `lookup` for http(s).request: resolves the name once, refuses it if any address is in a refused range,
 * and hands the socket exactly the addresses it checked, so a hostname cannot rebind between check and use.
 */
export function guardedLookup(allowPrivateHosts: boolean, isRefused: (ip: string) => boolean = isBlockedAddress, resolve: Resolver = systemResolver) {
  return (hostname: string, options: LookupOptions, callback: LookupCallback): void => {
    resolve(hostname, { family: typeof options.family === 'number' ? options.family : 0, hints: options.hints }, (err, addresses) => {
      if (err) return callback(err, []);
      if (addresses.length === 0) return callback(Object.assign(new Error(`no address for ${hostname}`), { code: 'ENOTFOUND' }), []);
      if (!allowPrivateHosts) {
        const bad = addresses.find((a) => isRefused(a.address));
        if (bad) {
          return callback(new RefusedError('refused_address', `${hostname} resolves to refused address ${bad.address}`) as never, []);
        }
      }
      if (options.all) callback(null, addresses);
      else callback(null, addresses[0]!.address, addresses[0]!.family);
    });
  };
}

/** `url` with any user name and password removed (what is stored and printed never carries credentials). */
export function withoutCredentials(url: string): string {
  try {
    const u = new URL(url);
    if (u.username === '' && u.password === '') return url;
    u.username = '';
    u.password = '';
    return u.href;
  } catch {
    return url.replace(/^([a-z][a-z0-9+.-]*:\/\/)[^/@]*@/i, '$1');
  }
}
