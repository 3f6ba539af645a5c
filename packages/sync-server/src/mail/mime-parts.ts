/**
 * The leaf parts of a MIME message (RFC 2045, RFC 2046 §5.1), for the list
 * fields: a small walker over a bounded prefix of the message, so that the
 * insert path (synchronous, inside a transaction) never hands a stranger's
 * bytes to an unbounded parser. The message view uses mailparser instead
 * (render.ts), which is streaming and asynchronous.
 *
 *   entity  = header block, empty line, body
 *   body    = a leaf's content, or (multipart/*) preamble, then parts each
 *             after a `--boundary` line, until a `--boundary--` line
 *
 * Linear: each nesting level scans its own range once, nesting is followed
 * at most MAIL_LIMITS.listDepth deep, at most MAIL_LIMITS.listEntities parts
 * are looked at and MAIL_LIMITS.listParts leaves returned. Total: malformed structure (no empty line, a missing closing
 * boundary, no boundary parameter) yields what can be read, never an error.
 * Header fields are read as the fingerprint reads them (@twinbox/protocol
 * parseHeaderFields: unfolded, first occurrence of a name).
 */
import { parseHeaderFields } from '@twinbox/protocol';
import libmime from 'libmime';
import { MAIL_LIMITS } from './limits.js';

export interface MimeLeaf {
  /** Header fields of the part, names lower-cased (values as raw latin1 text). */
  headers: Map<string, string>;
  /** Its media type, lower-cased (`text/plain` where none is given, RFC 2045 §5.2). */
  type: string;
  params: Record<string, string>;
  body: Buffer;
}

interface ContentType {
  type: string;
  params: Record<string, string>;
}

function contentType(headers: Map<string, string>): ContentType {
  const value = headers.get('content-type');
  if (value === undefined) return { type: 'text/plain', params: {} };
  try {
    const parsed = libmime.parseHeaderValue(value.slice(0, MAIL_LIMITS.headerValueChars));
    const type = String(parsed.value ?? '').trim().toLowerCase();
    return { type: type.includes('/') ? type : 'text/plain', params: parsed.params as Record<string, string> };
  } catch {
    return { type: 'text/plain', params: {} };
  }
}

/** Where the header block of the entity at [start, end) ends (after its last line break), and its body begins: one pass over its lines. */
function splitEntity(text: string, start: number, end: number): { headerEnd: number; bodyStart: number } {
  let line = start;
  while (line < end) {
    // An empty line (CRLF or a bare LF) ends the header block; an entity may open with one (no header fields).
    if (text.startsWith('\r\n', line)) return { headerEnd: line, bodyStart: line + 2 };
    if (text[line] === '\n') return { headerEnd: line, bodyStart: line + 1 };
    const lineEnd = text.indexOf('\n', line);
    if (lineEnd < 0 || lineEnd >= end) break;
    line = lineEnd + 1;
  }
  return { headerEnd: end, bodyStart: end };
}

const AFTER_DELIMITER = new Set(['\r', '\n', ' ', '\t']);

/** The ranges of a multipart body's parts (RFC 2046 §5.1.1). A part left open runs to the end. */
function partRanges(text: string, start: number, end: number, boundary: string): [number, number][] {
  const delimiter = `--${boundary}`;
  const ranges: [number, number][] = [];
  let partStart = -1;
  let pos = start;
  for (;;) {
    const at = text.indexOf(delimiter, pos);
    if (at < 0 || at >= end) break;
    pos = at + delimiter.length;
    if (at !== start && text[at - 1] !== '\n') continue;
    const closing = text.startsWith('--', pos);
    if (!closing && pos < end && !AFTER_DELIMITER.has(text[pos]!)) continue;
    if (partStart >= 0) {
      // The line break before the delimiter belongs to the delimiter.
      let contentEnd = at;
      if (text[contentEnd - 1] === '\n') contentEnd--;
      if (text[contentEnd - 1] === '\r') contentEnd--;
      ranges.push([partStart, Math.max(partStart, contentEnd)]);
    }
    if (closing) return ranges;
    const lineEnd = text.indexOf('\n', pos);
    if (lineEnd < 0 || lineEnd >= end) return ranges;
    partStart = lineEnd + 1;
    pos = partStart;
  }
  if (partStart >= 0 && partStart < end) ranges.push([partStart, end]);
  return ranges;
}

interface Entity {
  headers: Map<string, string>;
  bodyStart: number;
}

function entity(text: string, start: number, end: number): Entity {
  const { headerEnd, bodyStart } = splitEntity(text, start, end);
  return { headers: parseHeaderFields(text.slice(start, headerEnd)), bodyStart };
}

interface Walk {
  leaves: MimeLeaf[];
  /** Entities (parts of any type) still to look at. */
  budget: number;
}

function walk(raw: Buffer, text: string, { headers, bodyStart }: Entity, end: number, depth: number, state: Walk): void {
  if (state.budget-- <= 0) return;
  const { type, params } = contentType(headers);
  if (type.startsWith('multipart/')) {
    const boundary = params.boundary;
    if (!boundary || depth >= MAIL_LIMITS.listDepth) return;
    for (const [partStart, partEnd] of partRanges(text, bodyStart, end, boundary)) {
      if (state.leaves.length >= MAIL_LIMITS.listParts || state.budget <= 0) return;
      walk(raw, text, entity(text, partStart, partEnd), partEnd, depth + 1, state);
    }
    return;
  }
  state.leaves.push({ headers, type, params, body: raw.subarray(bodyStart, Math.max(bodyStart, end)) });
}

/** The message's header fields (read from at most MAIL_LIMITS.listScanBytes, as mimeLeaves reads them). */
export function topHeaderFields(message: Buffer): Map<string, string> {
  const text = message.subarray(0, MAIL_LIMITS.listScanBytes).toString('latin1');
  const { headerEnd } = splitEntity(text, 0, text.length);
  return parseHeaderFields(text.slice(0, headerEnd));
}

/** The message's header fields and its leaf parts in order (depth first), read from a prefix of at most MAIL_LIMITS.listScanBytes. */
export function mimeLeaves(message: Buffer): { headers: Map<string, string>; leaves: MimeLeaf[] } {
  const raw = message.subarray(0, MAIL_LIMITS.listScanBytes);
  const text = raw.toString('latin1');
  const top = entity(text, 0, text.length);
  const state: Walk = { leaves: [], budget: MAIL_LIMITS.listEntities };
  walk(raw, text, top, text.length, 0, state);
  return { headers: top.headers, leaves: state.leaves };
}
