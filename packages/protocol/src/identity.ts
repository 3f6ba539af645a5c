/**
 * When a phone message and a desktop message are the same message (SPEC §3,
 * issue 9.1): identity scheme 2.
 *
 * The fingerprint (fingerprint.ts: Message-ID, else a hash of Date, From,
 * Subject and size) only *finds candidates*: anyone on a thread knows its
 * Message-IDs, so a stranger can mail the phone address a message that
 * carries the Message-ID of a desktop message. Two messages are the same only
 * when their fingerprints match AND their content digests match:
 *
 *   c1:<sha256>  over the Message-ID, Date, From, Subject, To and Cc header
 *                fields (unfolded, as parseHeaderFields reads them) and every
 *                byte of the body (after the empty line, CRLF form).
 *
 * A forger cannot match the digest without sending the identical message
 * (same headers that a reader sees, same body); a copy that differs only in
 * its trace fields (Received, Delivered-To, Return-Path — the same message
 * delivered to both addresses) is still the same message. A desktop message
 * too large for the phone is represented there by a stand-in, whose digest is
 * `standin:<original size>`: it matches a desktop message with the same
 * fingerprint and that exact size above LIMITS.maxMessageBytes. Only the
 * agent creates stand-ins; inbound SMTP never accepts a message that large.
 *
 * Versioned (scheme 1 was the fingerprint alone; stores record the scheme
 * they hold) because changing identity silently would duplicate mail.
 */
import { createHash } from 'node:crypto';
import { headerBlockOf, parseHeaderFields, toCrlf } from './fingerprint.js';
import { LIMITS } from './limits.js';

export const IDENTITY_SCHEME = 2 as const;

/** The header fields the content digest covers, besides the body. */
export const IDENTITY_HEADERS = ['message-id', 'date', 'from', 'subject', 'to', 'cc'] as const;

/** The body of a raw message: the bytes after the empty line that ends the header block (none without one). */
export function bodyOf(raw: Buffer): Buffer {
  const crlf = raw.indexOf('\r\n\r\n');
  const lf = raw.indexOf('\n\n');
  if (crlf < 0 && lf < 0) return Buffer.alloc(0);
  if (crlf >= 0 && (lf < 0 || crlf < lf)) return raw.subarray(crlf + 4);
  return raw.subarray(lf + 2);
}

/** Content digest of a message held whole (`c1:` + SHA-256, hex). */
export function contentDigestOfRaw(raw: Buffer): string {
  const canonical = toCrlf(raw);
  const fields = parseHeaderFields(headerBlockOf(canonical));
  const hash = createHash('sha256');
  for (const name of IDENTITY_HEADERS) hash.update(`${name}:${fields.get(name) ?? ''}\u0000`);
  hash.update(bodyOf(canonical));
  return `c1:${hash.digest('hex')}`;
}

/** The digest a stand-in carries: the original's size (its fingerprint is the original's too). */
export function standInDigest(originalSize: number): string {
  return `standin:${originalSize}`;
}

export function isContentDigest(value: string): boolean {
  return /^c1:[0-9a-f]{64}$/.test(value) || /^standin:\d{1,15}$/.test(value);
}

/**
 * The digest a desktop message must have to be the same as a phone message
 * with this digest, or `undefined` when it needs the desktop message's content
 * to tell (a `c1:` digest). For a stand-in, the desktop's size decides.
 */
export function standInMatches(phoneDigest: string, desktopSize: number): boolean | undefined {
  if (!phoneDigest.startsWith('standin:')) return undefined;
  return desktopSize > LIMITS.maxMessageBytes && phoneDigest === standInDigest(desktopSize);
}
