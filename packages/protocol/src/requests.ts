/**
 * Requests over the agent's open link (docs/reach.md): the server asks the
 * connected agent a question about the desktop mailbox beyond the phone's
 * window — its folders, a search, a folder's newest messages, one message,
 * one part of it — and the agent answers, on the same WebSocket as its syncs,
 * interleaved with them:
 *
 *   server ─ request{id, op, params, timeoutMs} ─► agent
 *   server ◄─ response{id, result | error} ─ agent
 *   server ◄─ chunk{id, seq, last} + bytes ─ agent     (op `part` only: a
 *   server ─ credit{id, bytes} ─► agent                  part streamed in
 *   server ─ cancel{id} ─► agent                         chunks, each sent
 *                                                        within the credit)
 *
 * Shaped for JMAP Mail (RFC 8621), so that serving the phone over JMAP later
 * maps onto it: `mailboxes` is Mailbox/get (roles, counts), `query` is
 * Email/query (a filter, position and limit, newest first) with the summaries
 * Email/get would give, `message` is Email/get with bodyValues and
 * maxBodyValueBytes/isTruncated, a part is a blob, `move` and `flags` are
 * Email/set.
 *
 * Everything here is validated at the edge like every other message: sizes
 * and lengths are bounded (REQUEST_LIMITS), text is text.
 */
import type { FlagName } from './flag-actions.js';

/** A desktop message as the agent can find it again: its folder, the folder's UIDVALIDITY and its UID. */
export interface MessageRef {
  mailbox: string;
  uidValidity: string;
  uid: number;
}

/** SPECIAL-USE roles (RFC 6154) as JMAP names them (RFC 8621 §2). */
export const MAILBOX_ROLES = ['inbox', 'trash', 'sent', 'drafts', 'junk', 'archive', 'all', 'flagged', 'important'] as const;
export type MailboxRole = (typeof MAILBOX_ROLES)[number];

export interface MailboxInfo {
  /** The folder's full path on the desktop (what the agent selects). */
  id: string;
  name: string;
  parentId: string | null;
  role: MailboxRole | null;
  totalEmails: number | null;
  unreadEmails: number | null;
  /** \Noselect: a folder that only holds folders. */
  selectable: boolean;
}

/** Email/query's filter, the part of it a desktop IMAP search can answer (RFC 3501 §6.4.4). */
export interface QueryFilter {
  /** One folder; absent: every selectable folder but Trash and Junk. */
  inMailbox?: string;
  /** Words anywhere (IMAP TEXT): headers and body. */
  text?: string;
  from?: string;
  to?: string;
  subject?: string;
  body?: string;
  /** Arrival time bounds (ms); IMAP compares dates by day (SINCE/BEFORE). */
  after?: number;
  before?: number;
  unread?: boolean;
  flagged?: boolean;
}

export interface QueryParams {
  filter: QueryFilter;
  /** How many of the newest to skip, and how many to return. */
  position: number;
  limit: number;
}

/** One message in a list: what a phone list shows. */
export interface EmailSummary {
  ref: MessageRef;
  receivedAt: number;
  from: string;
  to: string;
  subject: string;
  size: number;
  seen: boolean;
  flagged: boolean;
  hasAttachment: boolean;
  preview: string;
}

export interface QueryResult {
  /** Matches in all (null where the server would have to count them all and did not). */
  total: number | null;
  position: number;
  items: EmailSummary[];
}

/** One MIME part of a message, as Email/get's bodyStructure leaves (RFC 8621 §4.1.4). */
export interface BodyPart {
  /** IMAP section number ("1.2"); "1" for the body of a message without parts (RFC 3501 §6.4.5). */
  partId: string;
  type: string;
  charset: string | null;
  size: number;
  name: string | null;
  disposition: 'inline' | 'attachment' | null;
  cid: string | null;
}

export interface MessageParams {
  ref: MessageRef;
  /** Text parts are returned up to this many bytes each (isTruncated says when cut). */
  maxBodyValueBytes: number;
}

export interface MessageResult {
  ref: MessageRef;
  receivedAt: number;
  seen: boolean;
  flagged: boolean;
  size: number;
  /** The header block as raw text (the server decodes what it shows, as for window messages). */
  headers: string;
  parts: BodyPart[];
  /** The text and HTML parts, decoded to text, each up to maxBodyValueBytes. */
  bodyValues: Record<string, { value: string; isTruncated: boolean }>;
  /** The text parts to show, in order (RFC 8621 textBody / htmlBody). */
  textBody: string[];
  htmlBody: string[];
}

export interface PartParams {
  ref: MessageRef;
  partId: string;
}

/** The answer that comes before a part's chunks. */
export interface PartResult {
  /** Decoded size where the server says it (BINARY.SIZE), else the encoded size: an estimate. */
  size: number;
  type: string;
  name: string | null;
}

/**
 * A part a window message's preview left out (preview.ts): the agent finds the desktop message by the phone
 * message's mapping (its folder, UIDVALIDITY and UID as the agent holds them: the server knows none of
 * them), then streams the part as for `part`. Lane version 2.
 */
export interface HeldPartParams {
  phoneId: number;
  partId: string;
}

export interface MoveParams {
  ref: MessageRef;
  to: string;
}

export interface FlagsParams {
  ref: MessageRef;
  flags: Partial<Record<FlagName, boolean>>;
}

/** Every request the server may make, its parameters and its result. */
export interface RequestOps {
  mailboxes: { params: Record<string, never>; result: { mailboxes: MailboxInfo[] } };
  query: { params: QueryParams; result: QueryResult };
  message: { params: MessageParams; result: MessageResult };
  part: { params: PartParams; result: PartResult };
  heldPart: { params: HeldPartParams; result: PartResult };
  move: { params: MoveParams; result: { ref: MessageRef | null } };
  flags: { params: FlagsParams; result: Record<string, never> };
}
export type RequestOp = keyof RequestOps;
export const REQUEST_OPS: readonly RequestOp[] = ['mailboxes', 'query', 'message', 'part', 'heldPart', 'move', 'flags'];
/** The ops that answer with a part streamed in chunks. */
export type StreamOp = 'part' | 'heldPart';
export const isStreamOp = (op: RequestOp): op is StreamOp => op === 'part' || op === 'heldPart';

/** A request the agent could not answer: why, as a stable code. */
export const REQUEST_ERRORS = {
  /** The message or folder is not there (expunged, renamed, a new UIDVALIDITY). */
  NOT_FOUND: 'not on the desktop any more',
  /** The IMAP server refused the command. */
  IMAP: 'the desktop IMAP server refused it',
  /** The agent cannot reach its IMAP server now. */
  UNAVAILABLE: 'the desktop mailbox cannot be reached now',
  /** Parameters out of bounds. */
  BAD_REQUEST: 'not a request the agent takes',
  /** The agent stopped it (cancelled, too many at once, shutting down). */
  CANCELLED: 'stopped before it finished',
} as const;
export type RequestErrorCode = keyof typeof REQUEST_ERRORS;

/** Bounds on requests, one place (the imapflow `limits.js` idea). */
export const REQUEST_LIMITS = {
  /** Requests one connection may have open at once; more are refused. */
  maxOpen: 16,
  /** Longest search text of each kind, in characters. */
  maxSearchChars: 256,
  /** Most results one query returns. */
  maxPageSize: 100,
  /** Longest folder path. */
  maxMailboxChars: 1000,
  /** Most folders listed. */
  maxMailboxes: 2000,
  /** Most text of one part returned in a message (bodyValues). */
  maxBodyValueBytes: 1024 * 1024,
  /** Bytes of a part in one chunk frame. */
  chunkBytes: 256 * 1024,
  /** The credit the server grants before the phone reads anything: this many bytes in flight. */
  initialCredit: 2 * 1024 * 1024,
  /** Longest a request may be given (the server's deadline). */
  maxTimeoutMs: 120_000,
  /** Nesting of MIME parts described. */
  maxParts: 500,
  /** Largest result of one request (its JSON, carried as the response frame's body). */
  maxResultBytes: 8 * 1024 * 1024,
  /** Longest header block returned with a message. */
  maxHeaderBytes: 256 * 1024,
  /** Longest preview of a summary, in characters. */
  maxPreviewChars: 256,
} as const;

/**
 * The request lane's version, which an agent names in its `watch` (messages.ts).
 * The server sends requests only to an agent that named one it speaks; an
 * agent from before (no `requests` in its watch) is told apart, so the phone
 * hears that the desktop agent must be updated instead of waiting for an
 * answer that never comes. The sync protocol (PROTOCOL_VERSION) is unchanged:
 * an older server ignores the field, an older agent never gets a request.
 */
export const REQUESTS_VERSION = 2 as const;
// 1: mailboxes, query, message, part, move, flags. 2: heldPart (preview first, issue 21). The server takes
// any agent from version 1 on, and asks `heldPart` only of one that names 2 or more (older: DESKTOP_OUTDATED).
export const REQUESTS_MIN_VERSION = 1 as const;
export const HELD_PART_VERSION = 2 as const;

/** A request as it travels: one op and its parameters. */
export type AnyRequest = { [K in RequestOp]: { op: K; params: RequestOps[K]['params'] } }[RequestOp];

/** What a request's answer may carry as its error. */
export interface RequestError {
  code: RequestErrorCode;
  message: string;
}
