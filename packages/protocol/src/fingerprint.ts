/**
 * The stable fingerprint that recognises one message on both sides (docs/spec.md §3):
 * its Message-ID header, else a hash of the Date, From and Subject headers and
 * the size in bytes. Both sides compute it from the same raw header text (the
 * server from the stored message, the agent from IMAP
 * BODY.PEEK[HEADER.FIELDS (...)] and RFC822.SIZE), so decoders cannot disagree.
 *
 * The scheme is versioned ("mid:" / "midh:" / "h1:") because changing it
 * later would make existing messages look new and duplicate them. A
 * fingerprint only finds candidates; identity.ts decides whether a candidate
 * is the same message.
 */
import { createHash } from 'node:crypto';

/** The header fields the fingerprint reads; the agent asks IMAP for exactly these. */
export const FINGERPRINT_HEADERS = ['message-id', 'date', 'from', 'subject'] as const;

/** Split a raw header block into unfolded fields (name lower-cased → first value). */
export function parseHeaderFields(headerBlock: string): Map<string, string> {
  const fields = new Map<string, string>();
  const unfolded = headerBlock.replace(/\r?\n[ \t]+/g, ' ');
  for (const line of unfolded.split(/\r?\n/)) {
    if (line === '') break;
    const colon = line.indexOf(':');
    if (colon <= 0) continue;
    const name = line.slice(0, colon).trim().toLowerCase();
    if (!fields.has(name)) fields.set(name, line.slice(colon + 1).replace(/\s+/g, ' ').trim());
  }
  return fields;
}

/** The header block of a raw message: everything before the first empty line. */
export function headerBlockOf(raw: Buffer): string {
  const crlf = raw.indexOf('\r\n\r\n');
  const lf = raw.indexOf('\n\n');
  const cuts = [crlf, lf].filter((i) => i >= 0);
  const end = cuts.length > 0 ? Math.min(...cuts) : raw.length;
  return raw.subarray(0, end).toString('latin1');
}

/**
 * What `/<([^>]+)>/` finds in a value — the text between the first `<` that is
 * followed by a `>` with something in between, and that `>` — found in one
 * pass. (The regular expression itself is quadratic on a header of `<`s and no
 * `>`: 28 s for 250 KB, issue 18.) The result must never change: fingerprints
 * already stored depend on it.
 */
export function firstBracketed(value: string): string | undefined {
  let open = value.indexOf('<');
  while (open >= 0) {
    const close = value.indexOf('>', open + 1);
    if (close < 0) return undefined;
    if (close > open + 1) return value.slice(open + 1, close);
    open = value.indexOf('<', close + 1);
  }
  return undefined;
}

/** Normalised Message-ID without angle brackets, or undefined when absent or empty. */
export function messageIdOf(fields: Map<string, string>): string | undefined {
  const value = fields.get('message-id');
  if (!value) return undefined;
  const id = (firstBracketed(value) ?? value).trim();
  return id === '' ? undefined : id;
}

/** Message-IDs longer than this are fingerprinted by their hash, so a fingerprint always fits a protocol string. */
const LONGEST_PLAIN_MESSAGE_ID = 512;

export function fingerprintOf(fields: Map<string, string>, size: number): string {
  const messageId = messageIdOf(fields);
  if (messageId && messageId.length > LONGEST_PLAIN_MESSAGE_ID) return `midh:${createHash('sha256').update(messageId).digest('hex')}`;
  if (messageId) return `mid:${messageId}`;
  const hash = createHash('sha256');
  for (const name of ['date', 'from', 'subject']) hash.update(`${fields.get(name) ?? ''}\u0000`);
  hash.update(String(size));
  return `h1:${hash.digest('hex').slice(0, 40)}`;
}

/** Fingerprint of a raw message held in full (the server side). */
export function fingerprintOfRaw(raw: Buffer): string {
  return fingerprintOf(parseHeaderFields(headerBlockOf(raw)), raw.length);
}

/**
 * Line endings as IMAP serves them (CRLF). Mail is stored in this canonical
 * form so that sizes, and so fingerprints, agree on both sides.
 */
export function toCrlf(raw: Buffer): Buffer {
  if (!raw.includes(0x0a)) return raw;
  const text = raw.toString('latin1');
  const fixed = text.replace(/\r?\n/g, '\r\n');
  return fixed.length === text.length ? raw : Buffer.from(fixed, 'latin1');
}
