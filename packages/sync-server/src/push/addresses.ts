/**
 * Which IP addresses a push may go to (issue 20, "hostile input"). The server
 * posts to an address a phone gave it, so an endpoint must be on the public
 * internet: an address in any special-purpose range of the IANA registries
 * (RFC 6890 and its successors: loopback, private, link-local, shared/CGNAT,
 * documentation, multicast, reserved …) is refused, and so is an IPv6 address
 * outside global unicast (2000::/3). An IPv6 address that carries an IPv4 one
 * (IPv4-mapped ::ffff:0:0/96, NAT64 64:ff9b::/96, 6to4 2002::/16) is judged by
 * the IPv4 address it reaches.
 *
 * An operator may allow networks of their own (`push.allowPrivateNetworks`, a
 * list of CIDR ranges: a push service on the company network; the tests' one
 * on loopback). Pure: no I/O.
 */
import { isIP } from 'node:net';

/** An address as bytes: 4 for IPv4, 16 for IPv6. */
type Bytes = Uint8Array;

interface Range {
  bytes: Bytes;
  prefix: number;
  kind: string;
}

/** A CIDR range an operator allows (`10.1.2.0/24`, `127.0.0.1`, `fd00::/8`). */
export interface Network {
  bytes: Bytes;
  prefix: number;
  text: string;
}

function parseV4(text: string): Bytes | undefined {
  const parts = text.split('.');
  if (parts.length !== 4 || !parts.every((p) => /^\d{1,3}$/.test(p) && Number(p) <= 255)) return undefined;
  return Uint8Array.from(parts.map(Number));
}

function parseV6(text: string): Bytes | undefined {
  if (isIP(text) !== 6) return undefined;
  // A trailing dotted IPv4 (::ffff:1.2.3.4) is the last two words.
  let hex = text;
  const dotted = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (dotted) {
    const v4 = parseV4(dotted[1]!);
    if (!v4) return undefined;
    hex = `${text.slice(0, dotted.index)}${((v4[0]! << 8) | v4[1]!).toString(16)}:${((v4[2]! << 8) | v4[3]!).toString(16)}`;
  }
  const halves = hex.split('::');
  if (halves.length > 2) return undefined;
  const words = (s: string) => (s === '' ? [] : s.split(':').map((w) => parseInt(w, 16)));
  const before = words(halves[0]!);
  const after = halves.length === 2 ? words(halves[1]!) : [];
  const all = halves.length === 2 ? [...before, ...new Array<number>(Math.max(0, 8 - before.length - after.length)).fill(0), ...after] : before;
  if (all.length !== 8 || !all.every((w) => w >= 0 && w <= 0xffff)) return undefined;
  const bytes = new Uint8Array(16);
  all.forEach((w, i) => {
    bytes[2 * i] = w >> 8;
    bytes[2 * i + 1] = w & 0xff;
  });
  return bytes;
}

/** The address as bytes (IPv6 with a zone, `fe80::1%eth0`, has none: it is link-local by nature). */
export function addressBytes(address: string): Bytes | undefined {
  if (address.includes('%')) return undefined;
  return isIP(address) === 4 ? parseV4(address) : parseV6(address);
}

function inRange(bytes: Bytes, range: { bytes: Bytes; prefix: number }): boolean {
  if (bytes.length !== range.bytes.length) return false;
  for (let bit = 0; bit < range.prefix; bit += 8) {
    const take = Math.min(8, range.prefix - bit);
    const mask = (0xff << (8 - take)) & 0xff;
    if ((bytes[bit / 8]! & mask) !== (range.bytes[bit / 8]! & mask)) return false;
  }
  return true;
}

const range = (address: string, prefix: number, kind: string): Range => ({ bytes: addressBytes(address)!, prefix, kind });

/** IPv4 special-purpose ranges (IANA IPv4 Special-Purpose Address Registry, with multicast and class E). */
const SPECIAL_V4: readonly Range[] = [
  range('0.0.0.0', 8, 'a "this network" address'),
  range('10.0.0.0', 8, 'a private address'),
  range('100.64.0.0', 10, 'a shared (carrier-grade NAT) address'),
  range('127.0.0.0', 8, 'a loopback address'),
  range('169.254.0.0', 16, 'a link-local address'),
  range('172.16.0.0', 12, 'a private address'),
  range('192.0.0.0', 24, 'an IETF protocol address'),
  range('192.0.2.0', 24, 'a documentation address'),
  range('192.88.99.0', 24, 'a 6to4 relay address'),
  range('192.168.0.0', 16, 'a private address'),
  range('198.18.0.0', 15, 'a benchmarking address'),
  range('198.51.100.0', 24, 'a documentation address'),
  range('203.0.113.0', 24, 'a documentation address'),
  range('224.0.0.0', 4, 'a multicast address'),
  range('240.0.0.0', 4, 'a reserved address'),
];

/** IPv6 special-purpose ranges inside or beside global unicast (IANA IPv6 Special-Purpose Address Registry). */
const SPECIAL_V6: readonly Range[] = [
  range('::1', 128, 'a loopback address'),
  range('::', 128, 'the unspecified address'),
  range('64:ff9b:1::', 48, 'a local-use NAT64 address'),
  range('100::', 64, 'a discard address'),
  range('2001::', 23, 'an IETF protocol address'),
  range('2001:db8::', 32, 'a documentation address'),
  range('3fff::', 20, 'a documentation address'),
  range('5f00::', 16, 'a segment-routing address'),
  range('fc00::', 7, 'a private (unique local) address'),
  range('fe80::', 10, 'a link-local address'),
  range('fec0::', 10, 'a site-local address'),
  range('ff00::', 8, 'a multicast address'),
];
const GLOBAL_UNICAST = range('2000::', 3, 'global unicast');
const MAPPED = range('::ffff:0:0', 96, 'IPv4-mapped');
const NAT64 = range('64:ff9b::', 96, 'NAT64');
const SIX_TO_FOUR = range('2002::', 16, '6to4');

/** The IPv4 address an IPv6 one reaches, where it carries one. */
function embeddedV4(bytes: Bytes): Bytes | undefined {
  if (bytes.length !== 16) return undefined;
  if (inRange(bytes, MAPPED) || inRange(bytes, NAT64)) return bytes.slice(12, 16);
  if (inRange(bytes, SIX_TO_FOUR)) return bytes.slice(2, 6);
  return undefined;
}

/** Why an address is not on the public internet (e.g. "a private address"), or undefined when it is. */
export function nonPublicKind(address: string): string | undefined {
  const bytes = addressBytes(address);
  if (!bytes) return address.includes('%') ? 'a link-local address with a zone' : 'not an IP address';
  const v4 = bytes.length === 4 ? bytes : embeddedV4(bytes);
  if (v4) return SPECIAL_V4.find((r) => inRange(v4, r))?.kind;
  const special = SPECIAL_V6.find((r) => inRange(bytes, r));
  if (special) return special.kind;
  return inRange(bytes, GLOBAL_UNICAST) ? undefined : 'a reserved address';
}

/** Parse `push.allowPrivateNetworks` entries; a bare address is that one address. Throws on a bad entry. */
export function parseNetwork(text: string): Network {
  const [address = '', prefixText, extra] = text.split('/');
  const bytes = addressBytes(address);
  const max = bytes ? bytes.length * 8 : 0;
  const prefix = prefixText === undefined ? max : /^\d{1,3}$/.test(prefixText) ? Number(prefixText) : NaN;
  if (!bytes || extra !== undefined || !(prefix >= 0 && prefix <= max)) throw new Error(`"${text}" is not an IP address or a CIDR range (like 10.0.0.0/8 or fd00::/8)`);
  return { bytes, prefix, text };
}

/** Is this address in one of the operator's allowed networks (an IPv4-mapped address counts as its IPv4 one)? */
export function allowedBy(address: string, networks: readonly Network[]): Network | undefined {
  const bytes = addressBytes(address);
  if (!bytes) return undefined;
  const mapped = bytes.length === 16 && inRange(bytes, MAPPED) ? bytes.slice(12, 16) : undefined;
  return networks.find((n) => inRange(bytes, n) || (mapped !== undefined && inRange(mapped, n)));
}
