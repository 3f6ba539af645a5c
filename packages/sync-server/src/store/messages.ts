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
import type { SqlEngine } from './engine.js';

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
    private readonly db: SqlEngine,
    private readonly log?: Logger,
  ) {}

  /** Watchers on every node hear of a change once it is committed (engine.ts `notify`; index.ts passes it on as `mailbox`). */
  private changed(accountId: string): void {
    this.db.notify('mailbox', accountId);
  }

  /** Store a message; both sides agree on its flags from the start. Returns the new phone ID. */
  async insert(accountId: string, input: NewPhoneMessage): Promise<number> {
    const raw = imapSafe(toCrlf(input.raw));
    const listed = deriveListFields(raw);
    const inserted = await this.db.get<{ id: number }>(
      `INSERT INTO messages (account_id, folder, date, tiebreak, seen, flagged, agreed_seen, agreed_flagged, fingerprint, content_digest, subject, from_addr,
                             preview, size, raw, envelope, send_via, send_status, folder_since, held_parts)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`,
      [
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
      ],
    );
    const id = inserted!.id;
    if (listed.problems.length > 0) this.log?.warn('message stored with plain list fields', { account: accountId, phoneId: id, problems: listed.problems });
    this.changed(accountId);
    return id;
  }

  /**
   * The message in these folders that is the same message (identity.ts: same
   * fingerprint and content digest), if the phone holds one: the same mail
   * arriving again is one message (issue 18.6).
   */
  async findSame(accountId: string, identity: { fingerprint: string; digest: string }, folders: readonly Folder[]): Promise<PhoneMessage | undefined> {
    const inFolders = this.db.inList('folder', folders);
    const row = await this.db.get<Row>(`SELECT ${COLUMNS} FROM messages WHERE account_id = ? AND fingerprint = ? AND content_digest = ? AND ${inFolders.sql} ORDER BY id LIMIT 1`, [
      accountId,
      identity.fingerprint,
      identity.digest,
      ...inFolders.params,
    ]);
    return row ? toMessage(row) : undefined;
  }

  /** Outbox state: queued for sending, failed with the SMTP error, or done (null, once it is in Sent). */
  async setSendStatus(accountId: string, id: number, status: 'queued' | 'failed' | null, error: string | null = null): Promise<void> {
    await this.db.run('UPDATE messages SET send_status = ?, send_error = ? WHERE account_id = ? AND id = ?', [status, error, accountId, id]);
    this.changed(accountId);
  }

  async get(accountId: string, id: number): Promise<PhoneMessage | undefined> {
    const row = await this.db.get<Row>(`SELECT ${COLUMNS} FROM messages WHERE account_id = ? AND id = ?`, [accountId, id]);
    return row ? toMessage(row) : undefined;
  }

  async raw(accountId: string, id: number): Promise<Buffer | undefined> {
    const row = await this.db.get<{ raw: Buffer }>('SELECT raw FROM messages WHERE account_id = ? AND id = ?', [accountId, id]);
    return row?.raw;
  }

  /** A folder's messages; the Inbox in the virtual order of docs/spec.md §2, the others newest first. */
  async list(accountId: string, folder: Folder, unreadFirst = false): Promise<PhoneMessage[]> {
    const rows = await this.db.all<Row>(`SELECT ${COLUMNS} FROM messages WHERE account_id = ? AND folder = ? ORDER BY date DESC, id DESC`, [accountId, folder]);
    const messages = rows.map(toMessage);
    // Messages not yet on the desktop have no UID: they are the newest arrivals, so they sort above a UID of the same second.
    const key = (m: PhoneMessage) => ({ date: m.date, seen: m.seen, tiebreak: m.tiebreak ?? Number.MAX_SAFE_INTEGER - 1_000_000_000 + m.id });
    return messages.sort((a, b) => compareVirtualOrder(key(a), key(b), folder === 'inbox' && unreadFirst));
  }

  /**
   * Inbox and Trash messages with phone IDs above `after`, in ID order, at most `limit`
   * (the initial sync's phone list, read a page at a time).
   */
  async listAfter(accountId: string, after: number, limit: number): Promise<PhoneMessage[]> {
    const rows = await this.db.all<Row>(`SELECT ${COLUMNS} FROM messages WHERE account_id = ? AND folder IN ('inbox', 'trash') AND id > ? ORDER BY id LIMIT ?`, [accountId, after, limit]);
    return rows.map(toMessage);
  }

  /** Both sides agree on every Inbox and Trash message's flags, but for these messages (re-pairing done). */
  async agreeOnAllFlags(accountId: string, except: number[]): Promise<void> {
    const notExcepted = this.db.inList('id', except, true);
    await this.db.run(`UPDATE messages SET agreed_seen = seen, agreed_flagged = flagged WHERE account_id = ? AND folder IN ('inbox', 'trash') AND ${notExcepted.sql}`, [
      accountId,
      ...notExcepted.params,
    ]);
  }

  /** A folder's messages, oldest in it first (by when they came into it): what retention removes first. */
  async byAge(accountId: string, folder: Folder): Promise<{ id: number; since: number; size: number }[]> {
    return this.db.all<{ id: number; since: number; size: number }>(
      'SELECT id, folder_since AS since, length(raw) AS size FROM messages WHERE account_id = ? AND folder = ? ORDER BY folder_since, id',
      [accountId, folder],
    );
  }

  /** Bytes the account's phone mailbox holds, all folders. */
  async bytes(accountId: string): Promise<number> {
    return (await this.db.get<{ n: number }>('SELECT COALESCE(SUM(length(raw)), 0) AS n FROM messages WHERE account_id = ?', [accountId]))!.n;
  }

  async count(accountId: string, folder: Folder): Promise<number> {
    return (await this.db.get<{ n: number }>('SELECT COUNT(*) AS n FROM messages WHERE account_id = ? AND folder = ?', [accountId, folder]))!.n;
  }

  /** Set a flag. With `agreed`, both sides now hold this value (it came from, or was acknowledged by, the desktop). */
  async setFlag(accountId: string, id: number, flag: FlagName, value: boolean, agreed: boolean): Promise<void> {
    const column = flag === 'seen' ? 'seen' : 'flagged';
    const v = value ? 1 : 0;
    const changes = agreed
      ? await this.db.run(`UPDATE messages SET ${column} = ?, agreed_${column} = ? WHERE account_id = ? AND id = ? AND (${column} != ? OR agreed_${column} != ?)`, [v, v, accountId, id, v, v])
      : await this.db.run(`UPDATE messages SET ${column} = ? WHERE account_id = ? AND id = ? AND ${column} != ?`, [v, accountId, id, v]);
    if (changes > 0) this.changed(accountId);
  }

  async setAgreed(accountId: string, id: number, flag: FlagName, value: boolean): Promise<void> {
    const column = flag === 'seen' ? 'agreed_seen' : 'agreed_flagged';
    await this.db.run(`UPDATE messages SET ${column} = ? WHERE account_id = ? AND id = ?`, [value ? 1 : 0, accountId, id]);
  }

  async setTiebreak(accountId: string, id: number, tiebreak: number): Promise<void> {
    await this.db.run('UPDATE messages SET tiebreak = ? WHERE account_id = ? AND id = ?', [tiebreak, accountId, id]);
    this.changed(accountId);
  }

  /** An Inbox message's place in the desktop order: the desktop arrival time and UID (docs/spec.md §2; issue 18.7). */
  async setOrder(accountId: string, id: number, date: number, tiebreak: number): Promise<void> {
    const changes = await this.db.run("UPDATE messages SET date = ?, tiebreak = ? WHERE account_id = ? AND id = ? AND folder = 'inbox' AND (date != ? OR tiebreak IS DISTINCT FROM ?)", [
      date,
      tiebreak,
      accountId,
      id,
      date,
      tiebreak,
    ]);
    if (changes > 0) this.changed(accountId);
  }

  async move(accountId: string, id: number, folder: Folder): Promise<void> {
    await this.db.run('UPDATE messages SET folder = ?, folder_since = ? WHERE account_id = ? AND id = ?', [folder, Date.now(), accountId, id]);
    this.changed(accountId);
  }

  async delete(accountId: string, id: number): Promise<void> {
    await this.db.run('DELETE FROM messages WHERE account_id = ? AND id = ?', [accountId, id]);
    this.changed(accountId);
  }
}
