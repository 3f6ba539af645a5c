/**
 * Preview first (issue 21, docs/reach.md "Preview first in the window"): a
 * window message above the server's threshold goes to the phone as its
 * structure, header fields, text and small parts; each large leaf part
 * (an attachment, a big inline image) keeps its own header fields but not
 * its body, and is fetched from the desktop when the phone asks for it,
 * through the request lane, by its IMAP section number.
 *
 * Pure and linear: the message is walked once along its MIME boundaries
 * (RFC 2046 §5.1.1) as imap-safe.ts walks it; everything not cut is copied
 * byte for byte (preamble, delimiter lines, epilogue, kept parts). An omitted
 * part gets one header field in front of its own, `X-Twinbox-Omitted: part=
 * <section>; size=<decoded bytes>`, so a reader of the preview sees what is
 * missing; which parts were omitted is also carried beside the preview (the
 * insert's `previewOf`), and that list — not the field, which any sender can
 * write — is what the server trusts.
 *
 * Section numbers follow IMAP (RFC 3501 §6.4.5): the parts of a multipart
 * are 1, 2, …, nested ones 2.1, 2.2; the body of a message without parts is
 * 1. A message/rfc822 part is a leaf here (its whole is one section), as in
 * the agent's BODYSTRUCTURE walk (reach/structure.ts).
 *
 * What is kept: the text to show (text/plain and text/html that are not
 * marked attachment), whatever its size, and every leaf part of at most
 * `smallPartBytes` (encoded). Malformed MIME (no boundary, nesting deeper
 * than MAX_DEPTH, more than MAX_PARTS parts) is kept as it is.
 */
import { parseHeaderFields } from './fingerprint.js';
import { boundaryOf, splitHeader } from './imap-safe.js';

export const OMITTED_HEADER = 'X-Twinbox-Omitted';

/** Defaults: the threshold above which a window message is held as a preview, and the largest part a preview keeps. */
export const PREVIEW_DEFAULTS = {
  aboveBytes: 256 * 1024,
  smallPartBytes: 64 * 1024,
} as const;

/** A part left out of a preview: its IMAP section and its decoded size. */
export interface OmittedPart {
  partId: string;
  size: number;
}

export interface Preview {
  raw: Buffer;
  omitted: OmittedPart[];
}

const MAX_DEPTH = 16;
const MAX_PARTS = 500;

export function decodedSize(body: Buffer, encoding: string): number {
  if (encoding !== 'base64') return body.length;
  let chars = 0;
  let padding = 0;
  for (const c of body) {
    if ((c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a) || (c >= 0x30 && c <= 0x39) || c === 0x2b || c === 0x2f) chars++;
    else if (c === 0x3d) padding++;
  }
  return Math.max(0, Math.floor(((chars + padding) * 3) / 4) - padding);
}

interface Walk {
  smallPartBytes: number;
  omitted: OmittedPart[];
  parts: number;
}

function previewPart(part: Buffer, section: string, depth: number, walk: Walk): Buffer {
  walk.parts++;
  const { header, body } = splitHeader(part);
  const fields = parseHeaderFields(header.toString('latin1'));
  const contentType = (fields.get('content-type') ?? 'text/plain').toLowerCase();
  if (contentType.startsWith('multipart/')) {
    const boundary = depth < MAX_DEPTH ? boundaryOf(fields.get('content-type') ?? '') : undefined;
    // A multipart without a boundary cannot be split: kept whole, as IMAP would describe it as one part.
    if (!boundary) return part;
    return Buffer.concat([header, Buffer.from('\r\n'), previewMultipartBody(body, boundary, section, depth, walk)]);
  }
  const disposition = (fields.get('content-disposition') ?? '').toLowerCase();
  const isText = (contentType.startsWith('text/plain') || contentType.startsWith('text/html')) && !disposition.startsWith('attachment');
  if (isText || body.length <= walk.smallPartBytes || walk.parts > MAX_PARTS) return part;
  const encoding = (fields.get('content-transfer-encoding') ?? '7bit').toLowerCase().trim();
  const size = decodedSize(body, encoding);
  walk.omitted.push({ partId: section, size });
  return Buffer.concat([Buffer.from(`${OMITTED_HEADER}: part=${section}; size=${size}\r\n`, 'latin1'), header, Buffer.from('\r\n')]);
}

/** A multipart's body with each part previewed; delimiter lines, preamble and epilogue as they are. */
function previewMultipartBody(body: Buffer, boundary: string, section: string, depth: number, walk: Walk): Buffer {
  const delimiter = Buffer.from(`--${boundary}`, 'latin1');
  const out: Buffer[] = [];
  const childSection = (n: number) => (depth === 0 ? String(n) : `${section}.${n}`);
  let partStart = -1;
  let child = 0;
  let pos = 0;
  for (;;) {
    let at = body.indexOf(delimiter, pos);
    while (at > 0 && !(body[at - 2] === 0x0d && body[at - 1] === 0x0a)) at = body.indexOf(delimiter, at + 1);
    if (at < 0) {
      out.push(partStart < 0 ? body : previewPart(body.subarray(partStart), childSection(++child), depth + 1, walk));
      return Buffer.concat(out);
    }
    const partEnd = at === 0 ? 0 : at - 2;
    if (partStart < 0) out.push(body.subarray(0, partEnd));
    else out.push(previewPart(body.subarray(partStart, partEnd), childSection(++child), depth + 1, walk));
    const lineEnd = body.indexOf('\r\n', at);
    const line = body.subarray(at, lineEnd < 0 ? body.length : lineEnd);
    out.push(body.subarray(partEnd, lineEnd < 0 ? body.length : lineEnd + 2));
    if (line.subarray(delimiter.length, delimiter.length + 2).toString('latin1') === '--' || lineEnd < 0) {
      if (lineEnd >= 0) out.push(body.subarray(lineEnd + 2));
      return Buffer.concat(out);
    }
    partStart = lineEnd + 2;
    pos = partStart;
  }
}

/**
 * The preview of a message (CRLF, IMAP-safe: as the phone stores it), or
 * undefined when it would leave nothing out (the message then goes whole).
 */
export function previewOf(raw: Buffer, smallPartBytes: number = PREVIEW_DEFAULTS.smallPartBytes): Preview | undefined {
  const walk: Walk = { smallPartBytes, omitted: [], parts: 0 };
  const { header } = splitHeader(raw);
  const fields = parseHeaderFields(header.toString('latin1'));
  const contentType = (fields.get('content-type') ?? 'text/plain').toLowerCase();
  // The root: a multipart is walked (its parts are 1, 2, …); a single body is section 1.
  const previewed = contentType.startsWith('multipart/') ? previewPart(raw, '', 0, walk) : previewPart(raw, '1', 1, walk);
  return walk.omitted.length > 0 ? { raw: previewed, omitted: walk.omitted } : undefined;
}
