/**
 * The agent's state tables behind one small API. Every method is a single
 * statement; callers group them with `transaction` so a change and the record
 * of it commit together (docs/spec.md §10).
 */
import { randomUUID } from 'node:crypto';
import type { AgentAction } from '@twinbox/protocol';
import type Database from 'better-sqlite3';
import type { FallbackPath, RefusalMemory, StoredRefusal } from '../imap/fallbacks.js';
import { openDatabase, type Db } from './db.js';

export type FolderRole = 'inbox' | 'trash';

export interface InboxEntry {
  uid: number;
  date: number;
  seen: boolean;
  flagged: boolean;
  fingerprint: string;
  size: number;
  /** Marked \Deleted but not expunged: not part of the phone window until the mark is removed. */
  deleted?: boolean;
}

export interface Mapping {
  phoneId: number;
  folder: FolderRole;
  uid: number;
  fingerprint: string;
  /**
   * Content digest of the mapped message (identity.ts), what makes a candidate the same message; null in
   * rows from before the agent kept it, until backfill-digests.ts fills it in.
   */
  digest: string | null;
  /** Flag values both sides agreed on (or will, once pending actions are acknowledged). */
  seen: boolean;
  flagged: boolean;
}

export interface PendingAction {
  seq: number;
  action: AgentAction;
  /** Desktop UID of the message an insert carries. */
  uid: number | null;
}

export interface FolderState {
  uidValidity: string;
  highestModseq: string | null;
  uidNext: number;
  /** Messages in the folder (EXISTS) at that time; absent in state saved by older agents. */
  exists?: number;
}

type Row = Record<string, unknown>;

/** INBOX messages that count for the window: not marked \Deleted, not set aside in the quarantine. */
const IN_WINDOW = "deleted = 0 AND uid NOT IN (SELECT uid FROM quarantine WHERE held = 1 AND direction = 'toPhone' AND uid IS NOT NULL)";
const bool = (v: unknown) => v === 1;
const toEntry = (r: Row): InboxEntry => ({
  uid: r.uid as number,
  date: r.date as number,
  seen: bool(r.seen),
  flagged: bool(r.flagged),
  fingerprint: r.fingerprint as string,
  size: r.size as number,
  ...(bool(r.deleted) ? { deleted: true } : {}),
});
const toMapping = (r: Row): Mapping => ({
  phoneId: r.phone_id as number,
  folder: r.folder as FolderRole,
  uid: r.uid as number,
  fingerprint: r.fingerprint as string,
  digest: (r.digest as string | null) ?? null,
  seen: bool(r.seen),
  flagged: bool(r.flagged),
});

/** One row of the quarantine (docs/quarantine.md). */
export interface QuarantineRow {
  id: number;
  direction: 'toPhone' | 'toDesktop';
  kind: string;
  phoneId: number | null;
  uid: number | null;
  attempts: number;
  error: string;
  firstAt: number;
  lastAt: number;
  /** Set aside: no longer tried until retried by hand. */
  held: boolean;
}
const toQuarantine = (r: Row): QuarantineRow => ({
  id: r.id as number,
  direction: r.direction as QuarantineRow['direction'],
  kind: r.kind as string,
  phoneId: (r.phone_id as number | null) ?? null,
  uid: (r.uid as number | null) ?? null,
  attempts: r.attempts as number,
  error: r.error as string,
  firstAt: r.first_at as number,
  lastAt: r.last_at as number,
  held: bool(r.held),
});

export class AgentStore implements RefusalMemory {
  /** Prepared statements by SQL text: preparing costs more than running most of these statements. */
  private readonly statements = new Map<string, Database.Statement>();

  constructor(readonly db: Db) {}

  private sql(text: string): Database.Statement {
    let statement = this.statements.get(text);
    if (!statement) {
      statement = this.db.prepare(text);
      this.statements.set(text, statement);
    }
    return statement;
  }

  static open(path: string): AgentStore {
    return new AgentStore(openDatabase(path));
  }

  transaction<T>(fn: () => T): T {
    return this.db.transaction(fn).immediate();
  }

  close(): void {
    this.db.close();
  }

  // ── meta ──────────────────────────────────────────────────────────────
  getMeta(key: string): string | undefined {
    return (this.sql('SELECT value FROM meta WHERE key = ?').get(key) as { value: string } | undefined)?.value;
  }

  setMeta(key: string, value: string): void {
    this.sql('INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value').run(key, value);
  }

  deleteMeta(key: string): void {
    this.sql('DELETE FROM meta WHERE key = ?').run(key);
  }

  /** This agent's identity, made once with its database. */
  agentId(): string {
    let id = this.getMeta('agentId');
    if (!id) {
      id = randomUUID();
      this.setMeta('agentId', id);
    }
    return id;
  }

  folderState(role: FolderRole): FolderState | undefined {
    const raw = this.getMeta(`folder.${role}`);
    return raw ? (JSON.parse(raw) as FolderState) : undefined;
  }

  setFolderState(role: FolderRole, state: FolderState): void {
    this.setMeta(`folder.${role}`, JSON.stringify(state));
  }

  /** The window order (phone ID → desktop UID) the server holds, as of the last completed sync. */
  sentOrder(): Record<number, number> {
    const raw = this.getMeta('order.sent');
    return raw ? (JSON.parse(raw) as Record<number, number>) : {};
  }

  setSentOrder(order: Record<number, number>): void {
    this.setMeta('order.sent', JSON.stringify(order));
  }

  // ── inbox state ───────────────────────────────────────────────────────
  inboxEntry(uid: number): InboxEntry | undefined {
    const row = this.sql('SELECT * FROM inbox_state WHERE uid = ?').get(uid) as Row | undefined;
    return row ? toEntry(row) : undefined;
  }

  inboxEntries(): InboxEntry[] {
    return (this.sql('SELECT * FROM inbox_state').all() as Row[]).map(toEntry);
  }

  /** UIDs of the tracked INBOX messages (inbox-tracking.ts). */
  inboxUids(): number[] {
    return (this.sql('SELECT uid FROM inbox_state ORDER BY uid').pluck().all() as number[]);
  }

  /**
   * The tracking floor (inbox-tracking.ts): every INBOX message the table
   * does not hold arrived before it. 0: the table holds every message (also
   * what an agent from before tracking had); Infinity: nothing tracked yet.
   */
  inboxFloor(): number {
    const raw = this.getMeta('inbox.floor');
    return raw === undefined ? 0 : Number(raw);
  }

  setInboxFloor(floor: number): void {
    this.setMeta('inbox.floor', String(floor));
  }

  /**
   * Tracked messages that are sure to be in the right order against every
   * untracked one: not marked \Deleted, and arrived at or after `floor`
   * (with `unreadFirst`, also every unread one: all unread are tracked).
   */
  inboxCountAbove(floor: number, unreadFirst: boolean): number {
    const where = unreadFirst ? `${IN_WINDOW} AND (date >= ? OR seen = 0)` : `${IN_WINDOW} AND date >= ?`;
    return (this.sql(`SELECT COUNT(*) FROM inbox_state WHERE ${where}`).pluck().get(floor) as number);
  }

  /**
   * Arrival times of the tracked messages that count toward the window at
   * this floor (see inboxCountAbove); unread ones under `unreadFirst` as
   * Infinity, since they count whatever their date.
   */
  inboxCounting(floor: number, unreadFirst: boolean): number[] {
    const where = unreadFirst ? `${IN_WINDOW} AND (date >= ? OR seen = 0)` : `${IN_WINDOW} AND date >= ?`;
    const rows = this.sql(`SELECT date, seen FROM inbox_state WHERE ${where}`).all(floor) as { date: number; seen: number }[];
    return rows.map((r) => (unreadFirst && r.seen === 0 ? Number.POSITIVE_INFINITY : r.date));
  }

  /** Arrival time of the n-th (1-based) message not marked \Deleted, newest first. */
  inboxDateAt(n: number): number | undefined {
    return this.sql('SELECT date FROM inbox_state WHERE deleted = 0 ORDER BY date DESC, uid DESC LIMIT 1 OFFSET ?').pluck().get(n - 1) as number | undefined;
  }

  /**
   * Stop tracking messages that arrived before `floor`, except those mapped,
   * waiting in an insert, or (with `unreadFirst`) unread. Returns how many.
   */
  untrackBelow(floor: number, unreadFirst: boolean): number {
    return this.db
      .prepare(
        `DELETE FROM inbox_state WHERE date < ? ${unreadFirst ? 'AND seen = 1' : ''}
           AND uid NOT IN (SELECT uid FROM mapping WHERE folder = 'inbox')
           AND uid NOT IN (SELECT uid FROM actions WHERE uid IS NOT NULL)`,
      )
      .run(floor).changes;
  }

  inboxByFingerprint(fingerprint: string): InboxEntry[] {
    return (this.sql('SELECT * FROM inbox_state WHERE fingerprint = ? ORDER BY uid').all(fingerprint) as Row[]).map(toEntry);
  }

  /**
   * The first `limit` INBOX messages in the virtual order (docs/spec.md §2). INTERNALDATE
   * has whole seconds, so ordering by the stored ms equals ordering by seconds.
   * Messages the user marked \Deleted are not in it (most mail clients hide
   * them): they leave the phone window, and come back if the mark is removed.
   * Nor are messages set aside in the quarantine: one bad message does not
   * keep the rest of the window from the phone.
   */
  topOfInbox(limit: number, unreadFirst: boolean): InboxEntry[] {
    const order = unreadFirst ? 'seen ASC, date DESC, uid DESC' : 'date DESC, uid DESC';
    return (this.sql(`SELECT * FROM inbox_state WHERE ${IN_WINDOW} ORDER BY ${order} LIMIT ?`).all(limit) as Row[]).map(toEntry);
  }

  inboxCount(): number {
    return (this.sql('SELECT COUNT(*) AS n FROM inbox_state').get() as { n: number }).n;
  }

  putInboxEntry(e: InboxEntry): void {
    this.db
      .prepare(
        `INSERT INTO inbox_state (uid, date, seen, flagged, fingerprint, size, deleted) VALUES (?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT(uid) DO UPDATE SET date = excluded.date, seen = excluded.seen, flagged = excluded.flagged, fingerprint = excluded.fingerprint,
                                        size = excluded.size, deleted = excluded.deleted`,
      )
      .run(e.uid, e.date, e.seen ? 1 : 0, e.flagged ? 1 : 0, e.fingerprint, e.size, e.deleted ? 1 : 0);
  }

  setInboxFlags(uid: number, seen: boolean, flagged: boolean): void {
    this.sql('UPDATE inbox_state SET seen = ?, flagged = ? WHERE uid = ?').run(seen ? 1 : 0, flagged ? 1 : 0, uid);
  }

  setInboxDeleted(uid: number, deleted: boolean): void {
    this.sql('UPDATE inbox_state SET deleted = ? WHERE uid = ?').run(deleted ? 1 : 0, uid);
  }

  deleteInboxEntry(uid: number): void {
    this.sql('DELETE FROM inbox_state WHERE uid = ?').run(uid);
  }

  clearInbox(): void {
    this.sql('DELETE FROM inbox_state').run();
  }

  // ── mapping ───────────────────────────────────────────────────────────
  mappingByPhoneId(phoneId: number): Mapping | undefined {
    const row = this.sql('SELECT * FROM mapping WHERE phone_id = ?').get(phoneId) as Row | undefined;
    return row ? toMapping(row) : undefined;
  }

  mappingByUid(folder: FolderRole, uid: number): Mapping | undefined {
    const row = this.sql('SELECT * FROM mapping WHERE folder = ? AND uid = ?').get(folder, uid) as Row | undefined;
    return row ? toMapping(row) : undefined;
  }

  mappings(folder?: FolderRole): Mapping[] {
    const rows = folder ? this.sql('SELECT * FROM mapping WHERE folder = ?').all(folder) : this.sql('SELECT * FROM mapping').all();
    return (rows as Row[]).map(toMapping);
  }

  putMapping(m: Mapping): void {
    // A UID belongs to one phone message: drop a stale row that claims it.
    this.sql('DELETE FROM mapping WHERE folder = ? AND uid = ? AND phone_id != ?').run(m.folder, m.uid, m.phoneId);
    this.db
      .prepare(
        `INSERT INTO mapping (phone_id, folder, uid, fingerprint, digest, seen, flagged) VALUES (?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT(phone_id) DO UPDATE SET folder = excluded.folder, uid = excluded.uid, fingerprint = excluded.fingerprint, digest = excluded.digest,
                                             seen = excluded.seen, flagged = excluded.flagged`,
      )
      .run(m.phoneId, m.folder, m.uid, m.fingerprint, m.digest, m.seen ? 1 : 0, m.flagged ? 1 : 0);
  }

  /** Mappings whose digest is not known yet (rows from before the agent kept it). */
  mappingsWithoutDigest(limit: number): Mapping[] {
    return (this.sql('SELECT * FROM mapping WHERE digest IS NULL LIMIT ?').all(limit) as Row[]).map(toMapping);
  }

  setMappingDigest(phoneId: number, digest: string): void {
    this.sql('UPDATE mapping SET digest = ? WHERE phone_id = ?').run(digest, phoneId);
  }

  deleteMapping(phoneId: number): void {
    this.sql('DELETE FROM mapping WHERE phone_id = ?').run(phoneId);
  }

  // ── actions ───────────────────────────────────────────────────────────
  appendAction(action: AgentAction, uid?: number): number {
    const phoneId = 'phoneId' in action ? action.phoneId : null;
    const result = this.sql('INSERT INTO actions (kind, phone_id, uid, payload) VALUES (?, ?, ?, ?)').run(action.kind, phoneId, uid ?? null, JSON.stringify(action));
    return Number(result.lastInsertRowid);
  }

  pendingActions(): PendingAction[] {
    return (this.sql('SELECT seq, uid, payload FROM actions ORDER BY seq').all() as { seq: number; uid: number | null; payload: string }[]).map((r) => ({
      seq: r.seq,
      uid: r.uid,
      action: JSON.parse(r.payload) as AgentAction,
    }));
  }

  pendingCount(): number {
    return (this.sql('SELECT COUNT(*) AS n FROM actions').get() as { n: number }).n;
  }

  deleteAction(seq: number): void {
    this.sql('DELETE FROM actions WHERE seq = ?').run(seq);
  }

  /** Every action with seq ≤ this has been acknowledged and forgotten. */
  ackedThrough(): number {
    const pending = this.sql('SELECT MIN(seq) AS s FROM actions').get() as { s: number | null };
    if (pending.s !== null) return pending.s - 1;
    const row = this.sql("SELECT seq FROM sqlite_sequence WHERE name = 'actions'").get() as { seq: number } | undefined;
    return row?.seq ?? 0;
  }

  // ── server actions applied here, and intents ──────────────────────────
  serverActionApplied(seq: number): boolean {
    return this.sql('SELECT 1 FROM applied_server_actions WHERE seq = ?').get(seq) !== undefined;
  }

  recordServerAction(seq: number): void {
    this.sql('INSERT OR IGNORE INTO applied_server_actions (seq) VALUES (?)').run(seq);
  }

  intent(serverSeq: number): { fingerprint: string; minUid: number } | undefined {
    return this.sql('SELECT fingerprint, min_uid AS minUid FROM intents WHERE server_seq = ?').get(serverSeq) as
      | { fingerprint: string; minUid: number }
      | undefined;
  }

  recordIntent(serverSeq: number, fingerprint: string, minUid: number): void {
    this.sql('INSERT OR REPLACE INTO intents (server_seq, fingerprint, min_uid) VALUES (?, ?, ?)').run(serverSeq, fingerprint, minUid);
  }

  deleteIntent(serverSeq: number): void {
    this.sql('DELETE FROM intents WHERE server_seq = ?').run(serverSeq);
  }

  // ── send journal ──────────────────────────────────────────────────────
  sendRecord(serverSeq: number): { state: 'sending' | 'sent'; fingerprint: string; sentMinUid: number } | undefined {
    return this.sql('SELECT state, fingerprint, sent_min_uid AS sentMinUid FROM sends WHERE server_seq = ?').get(serverSeq) as
      | { state: 'sending' | 'sent'; fingerprint: string; sentMinUid: number }
      | undefined;
  }

  recordSend(serverSeq: number, phoneId: number, state: 'sending' | 'sent', fingerprint: string, sentMinUid: number): void {
    this.db
      .prepare('INSERT INTO sends (server_seq, phone_id, state, fingerprint, sent_min_uid) VALUES (?, ?, ?, ?, ?) ON CONFLICT(server_seq) DO UPDATE SET state = excluded.state')
      .run(serverSeq, phoneId, state, fingerprint, sentMinUid);
  }

  deleteSend(serverSeq: number): void {
    this.sql('DELETE FROM sends WHERE server_seq = ?').run(serverSeq);
  }

  // ── quarantine (docs/quarantine.md) ───────────────────────────────────
  quarantineEntry(direction: QuarantineRow['direction'], kind: string, key: { phoneId?: number; uid?: number }): QuarantineRow | undefined {
    const row = this.sql('SELECT * FROM quarantine WHERE direction = ? AND kind = ? AND COALESCE(phone_id, -1) = ? AND COALESCE(uid, -1) = ?').get(
      direction,
      kind,
      key.phoneId ?? -1,
      key.uid ?? -1,
    ) as Row | undefined;
    return row ? toQuarantine(row) : undefined;
  }

  /** Count one more failed attempt; returns the row as it now stands. */
  recordFailure(direction: QuarantineRow['direction'], kind: string, key: { phoneId?: number; uid?: number }, error: string, heldAfter: number): QuarantineRow {
    const now = Date.now();
    this.db
      .prepare(
        `INSERT INTO quarantine (direction, kind, phone_id, uid, attempts, error, first_at, last_at, held) VALUES (?, ?, ?, ?, 1, ?, ?, ?, ?)
         ON CONFLICT(direction, kind, COALESCE(phone_id, -1), COALESCE(uid, -1))
         DO UPDATE SET attempts = attempts + 1, error = excluded.error, last_at = excluded.last_at, held = (attempts + 1 >= ?)`,
      )
      .run(direction, kind, key.phoneId ?? null, key.uid ?? null, error.slice(0, 2000), now, now, heldAfter <= 1 ? 1 : 0, heldAfter);
    return this.quarantineEntry(direction, kind, key)!;
  }

  /** The action went through: forget its failures. */
  clearFailures(direction: QuarantineRow['direction'], kind: string, key: { phoneId?: number; uid?: number }): void {
    this.sql('DELETE FROM quarantine WHERE direction = ? AND kind = ? AND COALESCE(phone_id, -1) = ? AND COALESCE(uid, -1) = ?').run(direction, kind, key.phoneId ?? -1, key.uid ?? -1);
  }

  quarantine(): QuarantineRow[] {
    return (this.sql('SELECT * FROM quarantine ORDER BY id').all() as Row[]).map(toQuarantine);
  }

  /** Desktop INBOX messages set aside: not offered to the phone until retried. */
  heldUids(): Set<number> {
    return new Set(this.sql("SELECT uid FROM quarantine WHERE held = 1 AND direction = 'toPhone' AND uid IS NOT NULL").pluck().all() as number[]);
  }

  /** Try set-aside actions again (all, or one row): their rows go; the next sync tries them afresh. Returns how many. */
  retryQuarantined(id?: number): number {
    return (id === undefined ? this.sql('DELETE FROM quarantine WHERE held = 1').run() : this.sql('DELETE FROM quarantine WHERE id = ? AND held = 1').run(id)).changes;
  }

  // ── trigger nonces ────────────────────────────────────────────────────
  /** 'removing': recorded by the watcher, its e-mail not yet expunged; 'removed': done (or a replay of one done). */
  nonceState(nonce: string): 'unused' | 'removing' | 'removed' {
    const row = this.sql('SELECT removed FROM trigger_nonces WHERE nonce = ?').get(nonce) as { removed: number } | undefined;
    return row === undefined ? 'unused' : row.removed ? 'removed' : 'removing';
  }

  /** The watcher takes a trigger: its nonce is used from now on, its e-mail is being removed. */
  recordNonce(nonce: string, expires: number): void {
    this.sql('INSERT OR IGNORE INTO trigger_nonces (nonce, expires, removed) VALUES (?, ?, 0)').run(nonce, expires);
    this.sql('DELETE FROM trigger_nonces WHERE expires < ?').run(Date.now() - 60_000);
  }

  /** The trigger e-mail of this nonce is expunged. */
  nonceRemoved(nonce: string): void {
    this.sql('UPDATE trigger_nonces SET removed = 1 WHERE nonce = ?').run(nonce);
  }

  // ── IMAP refusals (imap/fallbacks.ts) ───────────────────────────────────
  refusals(server: string): StoredRefusal[] {
    return (this.sql('SELECT path, capabilities, command, response, at FROM imap_refusals WHERE server = ? ORDER BY at').all(server) as Row[]).map((r) => ({
      path: r.path as FallbackPath,
      capabilities: r.capabilities as string,
      command: r.command as string,
      response: r.response as string,
      at: r.at as number,
    }));
  }

  recordRefusal(server: string, r: StoredRefusal): void {
    this.sql(
      'INSERT INTO imap_refusals (server, path, capabilities, command, response, at) VALUES (?, ?, ?, ?, ?, ?) ' +
        'ON CONFLICT(server, path) DO UPDATE SET capabilities = excluded.capabilities, command = excluded.command, response = excluded.response, at = excluded.at',
    ).run(server, r.path, r.capabilities, r.command, r.response, r.at);
  }

  forgetRefusals(server: string, unlessCapabilities: string): void {
    this.sql('DELETE FROM imap_refusals WHERE server = ? AND capabilities <> ?').run(server, unlessCapabilities);
  }

  /** A new pairing epoch: mapping, pending actions and applied sets of the old one are void. */
  resetForInitialSync(): void {
    for (const table of ['mapping', 'actions', 'applied_server_actions', 'intents']) this.sql(`DELETE FROM ${table}`).run();
    this.deleteMeta('syncEpoch');
    this.deleteMeta('order.sent');
    this.setMeta('lastSyncNo', '0');
  }
}
