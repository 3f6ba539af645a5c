/**
 * The server's action list (patent FIG. 2C, 220): phone-side changes waiting
 * to be sent to the desktop. Rows are appended in the transaction of the change
 * they record and deleted in the transaction that applies their acknowledgement.
 */
import { EventEmitter } from 'node:events';
import type { MessageActionKind, MessageIdentity } from '@twinbox/protocol';
import type Database from 'better-sqlite3';
import type { Db } from './db.js';

/** `unmap`: the phone let go of its copy; `expire`: retention asks the desktop to destroy its Trash copy (docs/retention.md). */
export type ServerActionRowKind = 'insert' | 'deliver' | 'sent' | MessageActionKind | 'unmap' | 'expire';

export interface ServerActionRow {
  seq: number;
  kind: ServerActionRowKind;
  phoneId: number;
  /** A destroy's (or an expire's) record of what it destroyed. */
  identity: MessageIdentity | null;
}

interface Row {
  seq: number;
  kind: ServerActionRowKind;
  phoneId: number;
  folder: 'inbox' | 'trash' | null;
  fingerprint: string | null;
  digest: string | null;
}

const SELECT = 'SELECT seq, kind, phone_id AS phoneId, folder, fingerprint, digest FROM server_actions';

function toRow(r: Row): ServerActionRow {
  const identity = r.folder && r.fingerprint && r.digest ? { folder: r.folder, fingerprint: r.fingerprint, digest: r.digest } : null;
  return { seq: r.seq, kind: r.kind, phoneId: r.phoneId, identity };
}

export class ServerActions {
  /** 'appended' (accountId): a phone change was recorded in this process (live push listens). */
  readonly events = new EventEmitter();

  /** Phone changes recorded through this store (see `generation`). */
  private appended = 0;

  constructor(private readonly db: Db) {}

  append(accountId: string, kind: ServerActionRowKind, phoneId: number, identity?: MessageIdentity): number {
    const result = this.db
      .prepare('INSERT INTO server_actions (account_id, kind, phone_id, created_at, folder, fingerprint, digest) VALUES (?, ?, ?, ?, ?, ?, ?)')
      .run(accountId, kind, phoneId, Date.now(), identity?.folder ?? null, identity?.fingerprint ?? null, identity?.digest ?? null);
    this.appended++;
    // After the enclosing transaction commits: a listener must not see an action that may roll back.
    setImmediate(() => this.events.emit('appended', accountId));
    return Number(result.lastInsertRowid);
  }

  /**
   * Changes when a phone change may have been recorded: one through this
   * store, or any commit by another connection to the database (SQLite's
   * data_version; a tool or test writing the file). A list built from the
   * pending changes still holds while it stands (session.ts).
   */
  generation(): string {
    return `${this.appended}:${String(this.db.pragma('data_version', { simple: true }))}`;
  }

  pending(accountId: string): ServerActionRow[] {
    return (this.db.prepare(`${SELECT} WHERE account_id = ? ORDER BY seq`).all(accountId) as Row[]).map(toRow);
  }

  get(accountId: string, seq: number): ServerActionRow | undefined {
    const row = this.db.prepare(`${SELECT} WHERE account_id = ? AND seq = ?`).get(accountId, seq) as Row | undefined;
    return row ? toRow(row) : undefined;
  }

  /** The highest sequence number pending now (0 when none). */
  lastSeq(accountId: string): number {
    return (this.db.prepare('SELECT COALESCE(MAX(seq), 0) AS s FROM server_actions WHERE account_id = ?').get(accountId) as { s: number }).s;
  }

  /** Delete pending actions of these kinds up to `throughSeq` (what an initial sync has taken into account). */
  deleteKindsThrough(accountId: string, kinds: readonly ServerActionRowKind[], throughSeq: number): void {
    this.db
      .prepare('DELETE FROM server_actions WHERE account_id = ? AND seq <= ? AND kind IN (SELECT value FROM json_each(?))')
      .run(accountId, throughSeq, JSON.stringify(kinds));
  }

  /** Phone IDs with flag actions pending after `afterSeq`. */
  flagChangesAfter(accountId: string, afterSeq: number): number[] {
    const rows = this.db
      .prepare("SELECT DISTINCT phone_id AS phoneId FROM server_actions WHERE account_id = ? AND seq > ? AND kind IN ('markRead', 'markUnread', 'flag', 'unflag')")
      .all(accountId, afterSeq) as { phoneId: number }[];
    return rows.map((r) => r.phoneId);
  }

  count(accountId: string): number {
    return (this.db.prepare('SELECT COUNT(*) AS n FROM server_actions WHERE account_id = ?').get(accountId) as { n: number }).n;
  }

  delete(accountId: string, seq: number): void {
    // Once per acknowledged action: prepared once (messages.ts says why).
    (this.deleteOne ??= this.db.prepare('DELETE FROM server_actions WHERE account_id = ? AND seq = ?')).run(accountId, seq);
  }

  private deleteOne: Database.Statement | undefined;

  /** Is an action about this message still waiting for the desktop? */
  pendingFor(accountId: string, phoneId: number): boolean {
    return this.db.prepare('SELECT 1 FROM server_actions WHERE account_id = ? AND phone_id = ? LIMIT 1').get(accountId, phoneId) !== undefined;
  }

  /** Drop what is pending about a message that left the phone for good (destroy beats everything, docs/spec.md §6). */
  deleteForMessage(accountId: string, phoneId: number): void {
    this.db.prepare('DELETE FROM server_actions WHERE account_id = ? AND phone_id = ?').run(accountId, phoneId);
  }

}
