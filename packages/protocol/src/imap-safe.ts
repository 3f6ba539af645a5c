/**
 * Messages in a form every IMAP server carries unchanged (issue 18.8).
 *
 * RFC 3501 §4.3 forbids NUL in a literal. Servers differ in what they do with
 * one: Dovecot stores it but serves it as 0x80 in every FETCH BODY[] (only
 * BINARY[], RFC 3516, returns it), others refuse the APPEND or drop the byte.
 * BINARY on APPEND would keep the NUL on the desktop, yet the agent and the
 * user's own mail client read messages with BODY[]: they would see other
 * bytes than the phone holds, and the content digests would no longer match
 * after the agent starts over (two copies on each side).
 *
 * So Twinbox keeps every message it stores or appends IMAP-safe: each MIME
 * leaf part whose body holds a NUL byte is re-encoded as base64 (RFC 2045
 * §6.8) with its Content-Transfer-Encoding field replaced. The decoded
 * content is exactly what it was; the phone, the desktop and every later
 * FETCH hold the same bytes. A NUL left anywhere else (a header field, a
 * preamble, inside an already encoded body: malformed mail) is dropped.
 *
 * Linear in the message: a part is only split when it holds a NUL, nesting is
 * followed to MAX_DEPTH, and nothing here throws on any byte sequence.
 */
import { parseHeaderFields } from './fingerprint.js';

const MAX_DEPTH = 16;
const NUL = 0;

/** Does this message need re-encoding before IMAP can carry it? */
export function needsImapSafe(raw: Buffer): boolean {
  return raw.indexOf(NUL) >= 0;
}

/** The message with every NUL-carrying leaf part re-encoded as base64 (the same buffer when it has no NUL). */
export function imapSafe(raw: Buffer): Buffer {
  if (!needsImapSafe(raw)) return raw;
  return withoutNul(safePart(raw, 0));
}

/** Where the header block ends (the index of the empty line's first byte) and the body starts. */
export function splitHeader(part: Buffer): { header: Buffer; body: Buffer } {
  if (part.length >= 2 && part[0] === 0x0d && part[1] === 0x0a) return { header: part.subarray(0, 0), body: part.subarray(2) };
  const end = part.indexOf('\r\n\r\n');
  if (end < 0) return { header: part, body: part.subarray(part.length) };
  return { header: part.subarray(0, end + 2), body: part.subarray(end + 4) };
}

/** A multipart's boundary from its Content-Type, at most 200 characters (RFC 2046 §5.1.1 allows 70). */
export function boundaryOf(contentType: string): string | undefined {
  const match = /;\s*boundary\s*=\s*(?:"([^"\r\n]{1,200})"|([^;\s]{1,200}))/i.exec(contentType);
  return match ? (match[1] ?? match[2]) : undefined;
}

function safePart(part: Buffer, depth: number): Buffer {
  if (!needsImapSafe(part)) return part;
  const { header, body } = splitHeader(part);
  const fields = parseHeaderFields(withoutNul(header).toString('latin1'));
  const contentType = (fields.get('content-type') ?? 'text/plain').toLowerCase();
  const encoding = (fields.get('content-transfer-encoding') ?? '7bit').toLowerCase().trim();
  if (contentType.startsWith('multipart/') && depth < MAX_DEPTH) {
    const boundary = boundaryOf(fields.get('content-type') ?? '');
    if (boundary) return Buffer.concat([header, Buffer.from('\r\n'), safeMultipartBody(body, boundary, depth)]);
  }
  // A body already base64 or quoted-printable cannot hold a NUL that means anything: dropped by the caller.
  if (encoding === 'base64' || encoding === 'quoted-printable' || !needsImapSafe(body)) return part;
  return Buffer.concat([replaceTransferEncoding(header), Buffer.from('\r\n'), base64Lines(body)]);
}

/**
 * The body of a multipart: preamble, parts between `--boundary` lines,
 * epilogue. Only the parts are re-encoded; the delimiter lines are kept as
 * they are (RFC 2046 §5.1.1).
 */
function safeMultipartBody(body: Buffer, boundary: string, depth: number): Buffer {
  const delimiter = Buffer.from(`--${boundary}`, 'latin1');
  const out: Buffer[] = [];
  let partStart = -1;
  let pos = 0;
  for (;;) {
    // A delimiter line starts the body or follows a CRLF.
    let at = body.indexOf(delimiter, pos);
    while (at > 0 && !(body[at - 2] === 0x0d && body[at - 1] === 0x0a)) at = body.indexOf(delimiter, at + 1);
    if (at < 0) {
      out.push(partStart < 0 ? body.subarray(0) : safePart(body.subarray(partStart), depth + 1));
      return Buffer.concat(out);
    }
    // The CRLF before a delimiter belongs to the delimiter, not to the part.
    const partEnd = at === 0 ? 0 : at - 2;
    if (partStart < 0) out.push(body.subarray(0, partEnd));
    else out.push(safePart(body.subarray(partStart, partEnd), depth + 1));
    const lineEnd = body.indexOf('\r\n', at);
    const line = body.subarray(at, lineEnd < 0 ? body.length : lineEnd);
    out.push(body.subarray(partEnd, lineEnd < 0 ? body.length : lineEnd + 2));
    if (line.subarray(delimiter.length, delimiter.length + 2).toString('latin1') === '--' || lineEnd < 0) {
      // The close delimiter: the epilogue follows as it is.
      if (lineEnd >= 0) out.push(body.subarray(lineEnd + 2));
      return Buffer.concat(out);
    }
    partStart = lineEnd + 2;
    pos = partStart;
  }
}

/** The header block with its Content-Transfer-Encoding field (and folded lines) replaced by base64. */
function replaceTransferEncoding(header: Buffer): Buffer {
  const lines = header.toString('latin1').split(/(?<=\r\n)/);
  const kept: string[] = [];
  for (let i = 0; i < lines.length; i++) {
    if (/^content-transfer-encoding\s*:/i.test(lines[i]!)) {
      while (i + 1 < lines.length && /^[ \t]/.test(lines[i + 1]!)) i++;
      continue;
    }
    kept.push(lines[i]!);
  }
  if (kept.length > 0 && !kept[kept.length - 1]!.endsWith('\r\n')) kept[kept.length - 1] += '\r\n';
  kept.push('Content-Transfer-Encoding: base64\r\n');
  return Buffer.from(kept.join(''), 'latin1');
}

/** Base64 in lines of 76 characters (RFC 2045 §6.8), each ending in CRLF. */
function base64Lines(bytes: Buffer): Buffer {
  const text = bytes.toString('base64');
  const lines: string[] = [];
  for (let i = 0; i < text.length; i += 76) lines.push(text.slice(i, i + 76));
  return Buffer.from(lines.map((l) => `${l}\r\n`).join(''), 'latin1');
}

function withoutNul(bytes: Buffer): Buffer {
  if (!needsImapSafe(bytes)) return bytes;
  const out = Buffer.allocUnsafe(bytes.length);
  let n = 0;
  for (let i = 0; i < bytes.length; i++) if (bytes[i] !== NUL) out[n++] = bytes[i]!;
  return out.subarray(0, n);
}
