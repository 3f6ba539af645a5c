/**
 * Validators for the request lane (requests.ts, docs/reach.md): a request's
 * parameters as the agent takes them, and a result as the server takes it.
 * Everything is bounded by REQUEST_LIMITS; a value out of bounds is refused
 * (Invalid, made a BAD_FRAME / BAD_REQUEST at the edge), never trimmed.
 */
import { Invalid, bool, fail, int, list, obj, oneOf, type Obj } from './shape.js';
import {
  MAILBOX_ROLES,
  REQUEST_LIMITS,
  REQUEST_OPS,
  type AnyRequest,
  type BodyPart,
  type EmailSummary,
  type MailboxInfo,
  type MessageRef,
  type QueryFilter,
  type RequestOp,
  type RequestOps,
} from './requests.js';

/** The last moment a search date may name (9999-12-31, the end of IMAP's four-digit years). */
export const LATEST_SEARCH_DATE_MS = Date.UTC(9999, 11, 31, 23, 59, 59, 999);

/** A string of min..max characters. */
function text(o: Obj, key: string, max: number, min = 1): string {
  const v = o[key];
  if (typeof v !== 'string' || v.length < min || v.length > max) fail(`${key} must be a string of ${min}..${max} characters`);
  return v;
}

function optText(o: Obj, key: string, max: number): string | undefined {
  return o[key] === undefined ? undefined : text(o, key, max, 0);
}

function nullable<T>(o: Obj, key: string, read: (o: Obj, key: string) => T): T | null {
  return o[key] === null ? null : read(o, key);
}

/** An IMAP section number: "1", "2.1.3" (RFC 3501 §6.4.5). */
const PART_ID = /^[1-9]\d{0,3}(\.[1-9]\d{0,3}){0,15}$/;

function partId(o: Obj, key: string): string {
  const v = text(o, key, 80);
  if (!PART_ID.test(v)) fail(`${key} must be an IMAP section number like 1.2`);
  return v;
}

export function messageRef(value: unknown): MessageRef {
  const o = obj(value, 'ref');
  const uidValidity = text(o, 'uidValidity', 20);
  if (!/^[1-9]\d{0,19}$/.test(uidValidity)) fail('uidValidity must be a positive number');
  return { mailbox: text(o, 'mailbox', REQUEST_LIMITS.maxMailboxChars), uidValidity, uid: int(o, 'uid', 1, 0xffffffff) };
}

export function queryFilter(value: unknown): QueryFilter {
  const o = obj(value, 'filter');
  const filter: QueryFilter = {};
  if (o.inMailbox !== undefined) filter.inMailbox = text(o, 'inMailbox', REQUEST_LIMITS.maxMailboxChars);
  for (const key of ['text', 'from', 'to', 'subject', 'body'] as const) {
    const v = optText(o, key, REQUEST_LIMITS.maxSearchChars);
    if (v !== undefined) filter[key] = v;
  }
  // Years 1970 to 9999: IMAP's date-text has four digits (RFC 3501 §9), and a date it cannot say is a BAD the agent
  // must never take for the server refusing the command.
  for (const key of ['after', 'before'] as const) if (o[key] !== undefined) filter[key] = int(o, key, 0, LATEST_SEARCH_DATE_MS);
  for (const key of ['unread', 'flagged'] as const) if (o[key] !== undefined) filter[key] = bool(o, key);
  return filter;
}

const PARAMS: { [K in RequestOp]: (o: Obj) => RequestOps[K]['params'] } = {
  mailboxes: () => ({}),
  query: (o) => ({ filter: queryFilter(o.filter), position: int(o, 'position', 0, 1_000_000), limit: int(o, 'limit', 1, REQUEST_LIMITS.maxPageSize) }),
  message: (o) => ({ ref: messageRef(o.ref), maxBodyValueBytes: int(o, 'maxBodyValueBytes', 0, REQUEST_LIMITS.maxBodyValueBytes) }),
  part: (o) => ({ ref: messageRef(o.ref), partId: partId(o, 'partId') }),
  heldPart: (o) => ({ phoneId: int(o, 'phoneId', 1), partId: partId(o, 'partId') }),
  move: (o) => ({ ref: messageRef(o.ref), to: text(o, 'to', REQUEST_LIMITS.maxMailboxChars) }),
  flags: (o) => {
    const f = obj(o.flags, 'flags');
    const flags: { seen?: boolean; flagged?: boolean } = {};
    if (f.seen !== undefined) flags.seen = bool(f, 'seen');
    if (f.flagged !== undefined) flags.flagged = bool(f, 'flagged');
    if (Object.keys(flags).length === 0) fail('flags must set seen or flagged');
    return { ref: messageRef(o.ref), flags };
  },
};

/** A request's op and parameters, from a decoded `request` frame. */
export function requestOf(o: Obj): AnyRequest {
  const op = oneOf(o, 'op', REQUEST_OPS);
  return { op, params: PARAMS[op](obj(o.params, 'params')) } as AnyRequest;
}

function mailboxInfo(value: unknown): MailboxInfo {
  const o = obj(value, 'mailbox');
  const max = REQUEST_LIMITS.maxMailboxChars;
  return {
    id: text(o, 'id', max),
    name: text(o, 'name', max, 0),
    parentId: nullable(o, 'parentId', (x, k) => text(x, k, max)),
    role: o.role === null ? null : oneOf(o, 'role', MAILBOX_ROLES),
    totalEmails: nullable(o, 'totalEmails', (x, k) => int(x, k)),
    unreadEmails: nullable(o, 'unreadEmails', (x, k) => int(x, k)),
    selectable: bool(o, 'selectable'),
  };
}

const FIELD_CHARS = 4096;

function emailSummary(value: unknown): EmailSummary {
  const o = obj(value, 'item');
  return {
    ref: messageRef(o.ref),
    receivedAt: int(o, 'receivedAt'),
    from: text(o, 'from', FIELD_CHARS, 0),
    to: text(o, 'to', FIELD_CHARS, 0),
    subject: text(o, 'subject', FIELD_CHARS, 0),
    size: int(o, 'size'),
    seen: bool(o, 'seen'),
    flagged: bool(o, 'flagged'),
    hasAttachment: bool(o, 'hasAttachment'),
    preview: text(o, 'preview', REQUEST_LIMITS.maxPreviewChars, 0),
  };
}

function bodyPart(value: unknown): BodyPart {
  const o = obj(value, 'part');
  return {
    partId: partId(o, 'partId'),
    type: text(o, 'type', 255),
    charset: nullable(o, 'charset', (x, k) => text(x, k, 255)),
    size: int(o, 'size'),
    name: nullable(o, 'name', (x, k) => text(x, k, FIELD_CHARS, 0)),
    disposition: o.disposition === null ? null : oneOf(o, 'disposition', ['inline', 'attachment'] as const),
    cid: nullable(o, 'cid', (x, k) => text(x, k, 998, 0)),
  };
}

function partResult(o: Obj) {
  return { size: int(o, 'size'), type: text(o, 'type', 255), name: nullable(o, 'name', (x, k) => text(x, k, FIELD_CHARS, 0)) };
}

function bounded<T>(items: T[], max: number, what: string): T[] {
  if (items.length > max) fail(`${what} holds more than ${max}`);
  return items;
}

const RESULTS: { [K in RequestOp]: (o: Obj) => RequestOps[K]['result'] } = {
  mailboxes: (o) => ({ mailboxes: bounded(list(o, 'mailboxes', mailboxInfo), REQUEST_LIMITS.maxMailboxes, 'mailboxes') }),
  query: (o) => ({
    total: o.total === null ? null : int(o, 'total'),
    position: int(o, 'position'),
    items: bounded(list(o, 'items', emailSummary), REQUEST_LIMITS.maxPageSize, 'items'),
  }),
  message: (o) => {
    const parts = bounded(list(o, 'parts', bodyPart), REQUEST_LIMITS.maxParts, 'parts');
    const values = obj(o.bodyValues, 'bodyValues');
    const bodyValues: Record<string, { value: string; isTruncated: boolean }> = {};
    for (const key of Object.keys(values)) {
      if (!PART_ID.test(key)) fail('bodyValues keys must be section numbers');
      const v = obj(values[key], 'bodyValue');
      bodyValues[key] = { value: text(v, 'value', REQUEST_LIMITS.maxBodyValueBytes, 0), isTruncated: bool(v, 'isTruncated') };
    }
    const ids = (key: string) => bounded(list(o, key, (v) => partId({ v }, 'v')), REQUEST_LIMITS.maxParts, key);
    return {
      ref: messageRef(o.ref),
      receivedAt: int(o, 'receivedAt'),
      seen: bool(o, 'seen'),
      flagged: bool(o, 'flagged'),
      size: int(o, 'size'),
      headers: text(o, 'headers', REQUEST_LIMITS.maxHeaderBytes, 0),
      parts,
      bodyValues,
      textBody: ids('textBody'),
      htmlBody: ids('htmlBody'),
    };
  },
  part: partResult,
  heldPart: partResult,
  move: (o) => ({ ref: o.ref === null ? null : messageRef(o.ref) }),
  flags: () => ({}),
};

export type ParsedResult<K extends RequestOp> = { ok: true; result: RequestOps[K]['result'] } | { ok: false; error: string };

/** A result as the agent sent it (its frame body, JSON), checked against the op asked. */
export function parseRequestResult<K extends RequestOp>(op: K, body: Buffer): ParsedResult<K> {
  if (body.length > REQUEST_LIMITS.maxResultBytes) return { ok: false, error: `result larger than ${REQUEST_LIMITS.maxResultBytes} bytes` };
  try {
    return { ok: true, result: RESULTS[op](obj(JSON.parse(body.toString('utf8')), 'result')) as RequestOps[K]['result'] };
  } catch (err) {
    return { ok: false, error: err instanceof Invalid ? err.message : 'the result is not JSON' };
  }
}
