/**
 * When a phone message and a desktop message are the same message (docs/spec.md §3;
 * docs/identity.md): identity scheme 3.
 *
 * The fingerprint (fingerprint.ts: Message-ID, else a hash of Date, From,
 * Subject and size) only *finds candidates*: anyone on a thread knows its
 * Message-IDs, so a stranger can mail the phone address a message that
 * carries the Message-ID of a desktop message. Two messages are the same only
 * when their fingerprints match AND their content digests match:
 *
 *   c2:<sha256>  over the message in its IMAP-safe form (imap-safe.ts: CRLF
 *                line ends, NUL-carrying parts as base64): the Message-ID,
 *                Date, From, Subject, To, Cc, MIME-Version, Content-Type,
 *                Content-Transfer-Encoding and Content-Disposition header
 *                fields (unfolded, as parseHeaderFields reads them) and every
 *                byte of the body.
 *
 * A forger cannot match the digest without sending the identical message
 * (the headers a reader sees, the headers that say how to read the body, the
 * same body); a copy that differs only in its trace fields (Received,
 * Delivered-To, Return-Path — the same message delivered to both addresses)
 * is still the same message. A desktop message too large for the phone is
 * represented there by a stand-in, whose digest is `standin:<original size>`:
 * it matches a desktop message with the same fingerprint and that exact size
 * above LIMITS.maxMessageBytes. Only the agent creates stand-ins.
 *
 * Versioned because changing identity silently would duplicate mail: scheme 1
 * was the fingerprint alone; scheme 2 (`c1:`) left out the MIME fields (a
 * Content-Transfer-Encoding changes what a body says) and hashed the bytes as
 * received. Stores migrate to scheme 3; a `c1:` digest still found (a destroy
 * recorded before the upgrade, an agent mapping not yet refreshed) is checked
 * in its own scheme (`digestMatches`), so nothing is lost or duplicated by
 * the change.
 */
import { createHash } from 'node:crypto';
import { headerBlockOf, parseHeaderFields, toCrlf } from './fingerprint.js';
import { imapSafe } from './imap-safe.js';
import { LIMITS } from './limits.js';

export const IDENTITY_SCHEME = 3 as const;

/** The header fields the content digest covers, besides the body, per digest prefix. */
const HEADERS_OF = {
  c1: ['message-id', 'date', 'from', 'subject', 'to', 'cc'],
  c2: ['message-id', 'date', 'from', 'subject', 'to', 'cc', 'mime-version', 'content-type', 'content-transfer-encoding', 'content-disposition'],
} as const;
type DigestPrefix = keyof typeof HEADERS_OF;

/** The header fields the current content digest covers, besides the body. */
export const IDENTITY_HEADERS = HEADERS_OF.c2;

/** The body of a raw message: the bytes after the empty line that ends the header block (none without one). */
export function bodyOf(raw: Buffer): Buffer {
  const crlf = raw.indexOf('\r\n\r\n');
  const lf = raw.indexOf('\n\n');
  if (crlf < 0 && lf < 0) return Buffer.alloc(0);
  if (crlf >= 0 && (lf < 0 || crlf < lf)) return raw.subarray(crlf + 4);
  return raw.subarray(lf + 2);
}

function digestIn(prefix: DigestPrefix, raw: Buffer): string {
  const canonical = prefix === 'c1' ? toCrlf(raw) : imapSafe(toCrlf(raw));
  const fields = parseHeaderFields(headerBlockOf(canonical));
  const hash = createHash('sha256');
  for (const name of HEADERS_OF[prefix]) hash.update(`${name}:${fields.get(name) ?? ''}\u0000`);
  hash.update(bodyOf(canonical));
  return `${prefix}:${hash.digest('hex')}`;
}

/** Content digest of a message held whole, in the current scheme (`c2:` + SHA-256, hex). */
export function contentDigestOfRaw(raw: Buffer): string {
  return digestIn('c2', raw);
}

/**
 * Is `raw` the message whose digest is `digest`? Computed in the digest's own
 * scheme (`c1:` from before identity scheme 3, or `c2:`); a stand-in's digest
 * never matches content (size decides, see standInMatches).
 */
export function digestMatches(digest: string, raw: Buffer): boolean {
  const prefix = digest.slice(0, digest.indexOf(':'));
  if (prefix !== 'c1' && prefix !== 'c2') return false;
  return digestIn(prefix, raw) === digest;
}

/** The digest a stand-in carries: the original's size (its fingerprint is the original's too). */
export function standInDigest(originalSize: number): string {
  return `standin:${originalSize}`;
}

export function isContentDigest(value: string): boolean {
  return /^c[12]:[0-9a-f]{64}$/.test(value) || /^standin:\d{1,15}$/.test(value);
}

/**
 * Whether a desktop message of this size is the same as a phone message with
 * this digest, or `undefined` when it takes the desktop message's content to
 * tell (a content digest). For a stand-in, the desktop's size decides.
 */
export function standInMatches(phoneDigest: string, desktopSize: number): boolean | undefined {
  if (!phoneDigest.startsWith('standin:')) return undefined;
  return desktopSize > LIMITS.maxMessageBytes && phoneDigest === standInDigest(desktopSize);
}
