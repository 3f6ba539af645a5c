/**
 * The phone mailbox of each account: Inbox (the window), Trash, Sent, Outbox.
 * Raw messages are stored byte-exact in canonical form: CRLF line ends, and
 * IMAP-safe (protocol imap-safe.ts: a part with NUL bytes as base64), so the
 * desktop copy the agent appends is the very same bytes. The fingerprint,
 * the content digest and what the lists show (subject and sender decoded, a
 * preview: mail/list-fields.ts) are derived once, at insertion. Deriving the
 * list fields never fails an insert: a field that cannot be derived is
 * stored plain and logged (issue 18).
 */
import { compareVirtualOrder, contentDigestOfRaw, fingerprintOfRaw, imapSafe, standInDigest, toCrlf, type Envelope, type FlagName, type Logger, type OmittedPart, type PreviewOf } from '@twinbox/protocol';
import { deriveListFields } from '../mail/list-fields.js';
import type Database from 'better-sqlite3';
import type { Db } from './db.js';
import type { StoreEvents } from './events.js';

export type Folder = 'inbox' | 'trash' | 'sent' | 'outbox';
export type { FlagName };

export interface PhoneMessage {
  id: number;
  folder: Folder;
  date: number;
  /** Desktop UID once the agent has told it; orders messages that arrived in the same second. */
  tiebreak: number | null;
  seen: boolean;
  flagged: boolean;
  agreedSeen: boolean;
  agreedFlagged: boolean;
  fingerprint: string;
  /** Content digest (identity scheme 3, docs/identity.md): with the fingerprint, what makes it the same message as a desktop one. */
  digest: string;
  /** Decoded as a mail app shows it (mail/header-text.ts). */
  subject: string;
  /** Decoded: `Name <address>`, … (mail/header-text.ts). */
  from: string;
  /** The start of its text, on one line (mail/list-fields.ts). */
  preview: string;
  /** The message's size; for a preview, the whole message's (its stored bytes are fewer: `bytes`). */
  size: number;
  /**
   * Held as a preview (docs/reach.md "Preview first"): the parts left out, each fetched from the desktop on
   * demand by its IMAP section; null for a message held whole.
   */
  heldParts: OmittedPart[] | null;
  /** Outgoing mail only. */
  envelope: Envelope | null;
  sendVia: 'sync' | 'direct' | null;
  sendStatus: 'queued' | 'failed' | null;
  sendError: string | null;
}

export interface OutgoingState {
  envelope: Envelope;
  sendVia: 'sync' | 'direct';
}

interface Row {
  id: number;
  folder: Folder;
  date: number;
  tiebreak: number | null;
  seen: number;
  flagged: number;
  agreed_seen: number;
  agreed_flagged: number;
  fingerprint: string;
  content_digest: string;
  subject: string;
  from_addr: string;
  preview: string;
  size: number;
  held_parts: string | null;
  envelope: string | null;
  send_via: 'sync' | 'direct' | null;
  send_status: 'queued' | 'failed' | null;
  send_error: string | null;
}

const COLUMNS = 'id, folder, date, tiebreak, seen, flagged, agreed_seen, agreed_flagged, fingerprint, content_digest, subject, from_addr, preview, size, held_parts, envelope, send_via, send_status, send_error';

function toMessage(row: Row): PhoneMessage {
  return {
    id: row.id,
    folder: row.folder,
    date: row.date,
    tiebreak: row.tiebreak,
    seen: row.seen === 1,
    flagged: row.flagged === 1,
    agreedSeen: row.agreed_seen === 1,
    agreedFlagged: row.agreed_flagged === 1,
    fingerprint: row.fingerprint,
    digest: row.content_digest,
    subject: row.subject,
    from: row.from_addr,
    preview: row.preview,
    size: row.size,
    heldParts: row.held_parts ? (JSON.parse(row.held_parts) as OmittedPart[]) : null,
    envelope: row.envelope ? (JSON.parse(row.envelope) as Envelope) : null,
    sendVia: row.send_via,
    sendStatus: row.send_status,
    sendError: row.send_error,
  };
}

export interface NewPhoneMessage {
  folder: Folder;
  raw: Buffer;
  date: number;
  seen: boolean;
  flagged: boolean;
  tiebreak?: number;
  /** For the Outbox: how and to whom it is to be sent. */
  outgoing?: OutgoingState;
  /** The body is a stand-in for a desktop message too large for the phone: record the original's identity. */
  standInFor?: { fingerprint: string; size: number };
  /**
   * The body is a preview of a desktop window message (protocol preview.ts): record the whole message's
   * identity (the agent computed it from the whole) and the parts left out. Only the agent's inserts carry it.
   */
  previewOf?: PreviewOf;
}

export class PhoneMessages {
  constructor(
    private readonly db: Db,
    private readonly events: StoreEvents,
    private readonly log?: Logger,
  ) {}

  /**
   * A statement prepared once, for those a sync runs once per action (a
   * thousand phone changes: a thousand gets and agreements; preparing each
   * again was the larger part of their cost). Never used with pluck or iterate.
   */
  private sql(text: string): Database.Statement {
    let statement = this.statements.get(text);
    if (!statement) this.statements.set(text, (statement = this.db.prepare(text)));
    return statement;
  }

  private readonly statements = new Map<string, Database.Statement>();

  private changed(accountId: string): void {
    this.events.emit('mailbox', accountId);
  }

  /** Store a message; both sides agree on its flags from the start. Returns the new phone ID. */
  insert(accountId: string, input: NewPhoneMessage): number {
    const raw = imapSafe(toCrlf(input.raw));
    const listed = deriveListFields(raw);
    const result = this.db
      .prepare(
        `INSERT INTO messages (account_id, folder, date, tiebreak, seen, flagged, agreed_seen, agreed_flagged, fingerprint, content_digest, subject, from_addr,
                               preview, size, raw, envelope, send_via, send_status, folder_since, held_parts)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      )
      .run(
        accountId,
        input.folder,
        input.date,
        input.tiebreak ?? null,
        input.seen ? 1 : 0,
        input.flagged ? 1 : 0,
        input.seen ? 1 : 0,
        input.flagged ? 1 : 0,
        input.previewOf?.fingerprint ?? input.standInFor?.fingerprint ?? fingerprintOfRaw(raw),
        input.previewOf?.digest ?? (input.standInFor ? standInDigest(input.standInFor.size) : contentDigestOfRaw(raw)),
        listed.subject,
        listed.from,
        listed.preview,
        input.previewOf?.size ?? input.standInFor?.size ?? raw.length,
        raw,
        input.outgoing ? JSON.stringify(input.outgoing.envelope) : null,
        input.outgoing?.sendVia ?? null,
        input.outgoing ? 'queued' : null,
        Date.now(),
        input.previewOf ? JSON.stringify(input.previewOf.omitted) : null,
      );
    const id = Number(result.lastInsertRowid);
    if (listed.problems.length > 0) this.log?.warn('message stored with plain list fields', { account: accountId, phoneId: id, problems: listed.problems });
    this.changed(accountId);
    return id;
  }

  /**
   * The message in these folders that is the same message (identity.ts: same
   * fingerprint and content digest), if the phone holds one: the same mail
   * arriving again is one message (issue 18.6).
   */
  findSame(accountId: string, identity: { fingerprint: string; digest: string }, folders: readonly Folder[]): PhoneMessage | undefined {
    const row = this.db
      .prepare(`SELECT ${COLUMNS} FROM messages WHERE account_id = ? AND fingerprint = ? AND content_digest = ? AND folder IN (SELECT value FROM json_each(?)) ORDER BY id LIMIT 1`)
      .get(accountId, identity.fingerprint, identity.digest, JSON.stringify(folders)) as Row | undefined;
    return row ? toMessage(row) : undefined;
  }

  /** Outbox state: queued for sending, failed with the SMTP error, or done (null, once it is in Sent). */
  setSendStatus(accountId: string, id: number, status: 'queued' | 'failed' | null, error: string | null = null): void {
    this.db.prepare('UPDATE messages SET send_status = ?, send_error = ? WHERE account_id = ? AND id = ?').run(status, error, accountId, id);
    this.changed(accountId);
  }

  get(accountId: string, id: number): PhoneMessage | undefined {
    const row = this.sql(`SELECT ${COLUMNS} FROM messages WHERE account_id = ? AND id = ?`).get(accountId, id) as Row | undefined;
    return row ? toMessage(row) : undefined;
  }

  raw(accountId: string, id: number): Buffer | undefined {
    const row = this.sql('SELECT raw FROM messages WHERE account_id = ? AND id = ?').get(accountId, id) as { raw: Buffer } | undefined;
    return row?.raw;
  }

  /** A folder's messages; the Inbox in the virtual order of docs/spec.md §2, the others newest first. */
  list(accountId: string, folder: Folder, unreadFirst = false): PhoneMessage[] {
    const rows = this.db
      .prepare(`SELECT ${COLUMNS} FROM messages WHERE account_id = ? AND folder = ? ORDER BY date DESC, id DESC`)
      .all(accountId, folder) as Row[];
    const messages = rows.map(toMessage);
    // Messages not yet on the desktop have no UID: they are the newest arrivals, so they sort above a UID of the same second.
    const key = (m: PhoneMessage) => ({ date: m.date, seen: m.seen, tiebreak: m.tiebreak ?? Number.MAX_SAFE_INTEGER - 1_000_000_000 + m.id });
    return messages.sort((a, b) => compareVirtualOrder(key(a), key(b), folder === 'inbox' && unreadFirst));
  }

  /**
   * Inbox and Trash messages with phone IDs above `after`, in ID order, at most `limit`
   * (the initial sync's phone list, read a page at a time).
   */
  listAfter(accountId: string, after: number, limit: number): PhoneMessage[] {
    const rows = this.db
      .prepare(`SELECT ${COLUMNS} FROM messages WHERE account_id = ? AND folder IN ('inbox', 'trash') AND id > ? ORDER BY id LIMIT ?`)
      .all(accountId, after, limit) as Row[];
    return rows.map(toMessage);
  }

  /** Both sides agree on every Inbox and Trash message's flags, but for these messages (re-pairing done). */
  agreeOnAllFlags(accountId: string, except: number[]): void {
    this.db
      .prepare(
        `UPDATE messages SET agreed_seen = seen, agreed_flagged = flagged
         WHERE account_id = ? AND folder IN ('inbox', 'trash') AND id NOT IN (SELECT value FROM json_each(?))`,
      )
      .run(accountId, JSON.stringify(except));
  }

  /** A folder's messages, oldest in it first (by when they came into it): what retention removes first. */
  byAge(accountId: string, folder: Folder): { id: number; since: number; size: number }[] {
    return this.db
      .prepare('SELECT id, folder_since AS since, length(raw) AS size FROM messages WHERE account_id = ? AND folder = ? ORDER BY folder_since, id')
      .all(accountId, folder) as { id: number; since: number; size: number }[];
  }

  /** Bytes the account's phone mailbox holds, all folders. */
  bytes(accountId: string): number {
    return (this.db.prepare('SELECT COALESCE(SUM(length(raw)), 0) AS n FROM messages WHERE account_id = ?').get(accountId) as { n: number }).n;
  }

  count(accountId: string, folder: Folder): number {
    const row = this.db.prepare('SELECT COUNT(*) AS n FROM messages WHERE account_id = ? AND folder = ?').get(accountId, folder) as { n: number };
    return row.n;
  }

  /** Set a flag. With `agreed`, both sides now hold this value (it came from, or was acknowledged by, the desktop). */
  setFlag(accountId: string, id: number, flag: FlagName, value: boolean, agreed: boolean): void {
    const column = flag === 'seen' ? 'seen' : 'flagged';
    const agreedSql = agreed ? `, agreed_${column} = @value` : '';
    const result = this.db
      .prepare(`UPDATE messages SET ${column} = @value${agreedSql} WHERE account_id = @accountId AND id = @id AND (${column} != @value${agreed ? ` OR agreed_${column} != @value` : ''})`)
      .run({ value: value ? 1 : 0, accountId, id });
    if (result.changes > 0) this.changed(accountId);
  }

  setAgreed(accountId: string, id: number, flag: FlagName, value: boolean): void {
    const column = flag === 'seen' ? 'agreed_seen' : 'agreed_flagged';
    this.sql(`UPDATE messages SET ${column} = ? WHERE account_id = ? AND id = ?`).run(value ? 1 : 0, accountId, id);
  }

  setTiebreak(accountId: string, id: number, tiebreak: number): void {
    this.db.prepare('UPDATE messages SET tiebreak = ? WHERE account_id = ? AND id = ?').run(tiebreak, accountId, id);
    this.changed(accountId);
  }

  /** An Inbox message's place in the desktop order: the desktop arrival time and UID (docs/spec.md §2; issue 18.7). */
  setOrder(accountId: string, id: number, date: number, tiebreak: number): void {
    const result = this.db
      .prepare("UPDATE messages SET date = ?, tiebreak = ? WHERE account_id = ? AND id = ? AND folder = 'inbox' AND (date != ? OR tiebreak IS NOT ?)")
      .run(date, tiebreak, accountId, id, date, tiebreak);
    if (result.changes > 0) this.changed(accountId);
  }

  move(accountId: string, id: number, folder: Folder): void {
    this.db.prepare('UPDATE messages SET folder = ?, folder_since = ? WHERE account_id = ? AND id = ?').run(folder, Date.now(), accountId, id);
    this.changed(accountId);
  }

  delete(accountId: string, id: number): void {
    this.db.prepare('DELETE FROM messages WHERE account_id = ? AND id = ?').run(accountId, id);
    this.changed(accountId);
  }
}
