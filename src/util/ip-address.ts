// IP addresses as bytes, and which ones are not public: loopback, private, link-local (cloud metadata),
// shared, documentation, multicast, reserved, unspecified — in IPv4 and IPv6, and IPv4 embedded in IPv6 in
// every standard way (mapped, translated, compatible, NAT64 well-known and local-use, 6to4, Teredo). Parsing
// to bytes, not matching spellings: `::127.0.0.1`, `::7f00:1` and `0:0::FFFF:7F00:0001` are one address.
import { BlockList, isIP } from 'node:net';

/** IPv4 ranges that are not public (IANA IPv4 special-purpose registry, and multicast and reserved). */
const V4_SPECIAL: [string, number][] = [
  ['0.0.0.0', 8], // "this network", incl. the unspecified 0.0.0.0
  ['10.0.0.0', 8], // private
  ['100.64.0.0', 10], // carrier-grade NAT (also Alibaba's metadata 100.100.100.200)
  ['127.0.0.0', 8], // loopback
  ['169.254.0.0', 16], // link-local, incl. the cloud metadata service 169.254.169.254
  ['172.16.0.0', 12], // private
  ['192.0.0.0', 24], // IETF protocol assignments
  ['192.0.2.0', 24], // documentation
  ['192.88.99.0', 24], // 6to4 relay anycast
  ['192.168.0.0', 16], // private
  ['198.18.0.0', 15], // benchmarking
  ['198.51.100.0', 24], // documentation
  ['203.0.113.0', 24], // documentation
  ['224.0.0.0', 4], // multicast
  ['240.0.0.0', 4], // reserved, incl. broadcast 255.255.255.255
];
/** IPv6 ranges that are not public and embed no IPv4 address (those are handled by `embeddedV4`). */
const V6_SPECIAL: [string, number][] = [
  ['64:ff9b:1::', 48], // NAT64 local-use prefix (RFC 8215): translates to whatever the local network says
  ['100::', 64], // discard-only
  ['2001:2::', 48], // benchmarking
  ['2001:10::', 28], // ORCHID (deprecated)
  ['2001:20::', 28], // ORCHIDv2
  ['2001:db8::', 32], // documentation
  ['3fff::', 20], // documentation (2024)
  ['5f00::', 16], // SRv6 segment identifiers
  ['fc00::', 7], // unique local (incl. AWS metadata fd00:ec2::254)
  ['fe80::', 10], // link-local
  ['fec0::', 10], // site-local (deprecated)
  ['ff00::', 8], // multicast
];

const v4List = new BlockList();
for (const [a, p] of V4_SPECIAL) v4List.addSubnet(a, p, 'ipv4');
const v6List = new BlockList();
for (const [a, p] of V6_SPECIAL) v6List.addSubnet(a, p, 'ipv6');

/** The 16 bytes of an IPv6 address (brackets and a zone `%eth0` allowed), or null when it is not one. */
export function parseIpv6(text: string): Uint8Array | null {
  let s = text.startsWith('[') && text.endsWith(']') ? text.slice(1, -1) : text;
  s = s.replace(/%.*$/, '');
  if (isIP(s) !== 6) return null;
  const out = new Uint8Array(16);
  let tail: number[] = [];
  const dotted = /(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(s);
  if (dotted) {
    tail = dotted.slice(1).map(Number);
    s = s.slice(0, dotted.index) + '0:0';
  }
  const [head, rest] = s.includes('::') ? s.split('::') : [s, undefined];
  const groups = (p: string | undefined): number[] => (p ? p.split(':').filter((g) => g !== '').map((g) => parseInt(g, 16)) : []);
  const hi = groups(head);
  const lo = groups(rest);
  const words = rest === undefined ? hi : [...hi, ...new Array<number>(8 - hi.length - lo.length).fill(0), ...lo];
  words.forEach((w, i) => {
    out[2 * i] = w >> 8;
    out[2 * i + 1] = w & 255;
  });
  if (tail.length) out.set(tail, 12);
  return out;
}

const v4 = (b: Uint8Array, at: number, invert = false): string =>
  Array.from(b.subarray(at, at + 4), (x) => (invert ? ~x & 255 : x)).join('.');
const zero = (b: Uint8Array, from: number, to: number): boolean => b.subarray(from, to).every((x) => x === 0);
const word = (b: Uint8Array, i: number): number => (b[2 * i]! << 8) | b[2 * i + 1]!;

/**
 * The IPv4 addresses an IPv6 address carries, in every standard embedding: mapped `::ffff:a.b.c.d`,
 * translated `::ffff:0:a.b.c.d`, compatible `::a.b.c.d` (deprecated; also `::` and `::1`), NAT64
 * `64:ff9b::a.b.c.d`, 6to4 `2002:AABB:CCDD::/48`, and Teredo `2001:0:SSSS:SSSS:…:~CCCC:~CCCC` (server and
 * obfuscated client). Traffic to such an address can reach the IPv4 host, so the IPv4 rules apply.
 */
export function embeddedV4(b: Uint8Array): string[] {
  if (zero(b, 0, 10) && word(b, 5) === 0xffff) return [v4(b, 12)];
  if (zero(b, 0, 8) && word(b, 4) === 0xffff && word(b, 5) === 0) return [v4(b, 12)];
  if (zero(b, 0, 12)) return [v4(b, 12)];
  if (word(b, 0) === 0x64 && word(b, 1) === 0xff9b && zero(b, 4, 12)) return [v4(b, 12)];
  if (word(b, 0) === 0x2002) return [v4(b, 2)];
  if (word(b, 0) === 0x2001 && word(b, 1) === 0) return [v4(b, 4), v4(b, 12, true)];
  return [];
}

/** True when `address` (an IP literal, v4 or v6, bracketed or not) is not a public address. Non-IPs are refused too. */
export function isNonPublicAddress(address: string): boolean {
  const bare = address.startsWith('[') && address.endsWith(']') ? address.slice(1, -1) : address;
  if (isIP(bare) === 4) return v4List.check(bare, 'ipv4');
  const b = parseIpv6(bare);
  if (!b) return true;
  // IPv4-compatible ::/96 is deprecated and never routed publicly (and holds :: and ::1).
  if (zero(b, 0, 12)) return true;
  const inner = embeddedV4(b);
  if (inner.length) return inner.some((a) => v4List.check(a, 'ipv4'));
  const canonical = Array.from({ length: 8 }, (_, i) => word(b, i).toString(16)).join(':');
  return v6List.check(canonical, 'ipv6');
}

/** True for loopback addresses (127/8, ::1, and IPv4 loopback embedded in IPv6). */
export function isLoopbackAddress(address: string): boolean {
  const bare = address.startsWith('[') && address.endsWith(']') ? address.slice(1, -1) : address;
  if (isIP(bare) === 4) return bare.startsWith('127.');
  const b = parseIpv6(bare);
  if (!b) return false;
  if (zero(b, 0, 15) && b[15] === 1) return true;
  const inner = embeddedV4(b);
  return inner.length > 0 && inner.every((a) => a.startsWith('127.'));
}
