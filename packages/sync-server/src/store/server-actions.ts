/**
 * The server's action list (patent FIG. 2C, 220): phone-side changes waiting
 * to be sent to the desktop. Rows are appended in the transaction of the change
 * they record and deleted in the transaction that applies their acknowledgement.
 */
import { EventEmitter } from 'node:events';
import type { MessageActionKind, MessageIdentity } from '@twinbox/protocol';
import type { SqlEngine } from './engine.js';

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

const SELECT = 'SELECT seq, kind, phone_id AS "phoneId", folder, fingerprint, digest FROM server_actions';

function toRow(r: Row): ServerActionRow {
  const identity = r.folder && r.fingerprint && r.digest ? { folder: r.folder, fingerprint: r.fingerprint, digest: r.digest } : null;
  return { seq: r.seq, kind: r.kind, phoneId: r.phoneId, identity };
}

export class ServerActions {
  /** 'appended' (accountId): a phone change was recorded, on any node (live push listens). */
  readonly events = new EventEmitter();

  /** Phone changes recorded through this store (see `generation`). */
  private appended = 0;

  constructor(private readonly db: SqlEngine) {}

  async append(accountId: string, kind: ServerActionRowKind, phoneId: number, identity?: MessageIdentity): Promise<number> {
    const row = await this.db.get<{ seq: number }>(
      'INSERT INTO server_actions (account_id, kind, phone_id, created_at, folder, fingerprint, digest) VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING seq',
      [accountId, kind, phoneId, Date.now(), identity?.folder ?? null, identity?.fingerprint ?? null, identity?.digest ?? null],
    );
    // After the enclosing transaction commits: a listener must not see an action that may roll back. Every node
    // hears it (index.ts passes it on as `appended`): the one holding the agent's link wakes it.
    this.db.afterCommit(() => this.appended++);
    this.db.notify('appended', accountId);
    return row!.seq;
  }

  /**
   * Changes when a phone change may have been recorded: one through this
   * store, or any commit by another connection to the database (SQLite's
   * data_version; a tool or test writing the file). A list built from the
   * pending changes still holds while it stands (session.ts). Where the
   * engine cannot tell (PostgreSQL: another node may have written), every
   * call gives a new value: nothing built earlier is trusted.
   */
  async generation(): Promise<string> {
    const version = await this.db.dataVersion();
    return version === undefined ? `unknown:${++this.unknown}` : `${this.appended}:${version}`;
  }

  private unknown = 0;

  async pending(accountId: string): Promise<ServerActionRow[]> {
    return (await this.db.all<Row>(`${SELECT} WHERE account_id = ? ORDER BY seq`, [accountId])).map(toRow);
  }

  async get(accountId: string, seq: number): Promise<ServerActionRow | undefined> {
    const row = await this.db.get<Row>(`${SELECT} WHERE account_id = ? AND seq = ?`, [accountId, seq]);
    return row ? toRow(row) : undefined;
  }

  /** The highest sequence number pending now (0 when none). */
  async lastSeq(accountId: string): Promise<number> {
    return (await this.db.get<{ s: number }>('SELECT COALESCE(MAX(seq), 0) AS s FROM server_actions WHERE account_id = ?', [accountId]))!.s;
  }

  /** Delete pending actions of these kinds up to `throughSeq` (what an initial sync has taken into account). */
  async deleteKindsThrough(accountId: string, kinds: readonly ServerActionRowKind[], throughSeq: number): Promise<void> {
    const inKinds = this.db.inList('kind', kinds);
    await this.db.run(`DELETE FROM server_actions WHERE account_id = ? AND seq <= ? AND ${inKinds.sql}`, [accountId, throughSeq, ...inKinds.params]);
  }

  /** Phone IDs with flag actions pending after `afterSeq`. */
  async flagChangesAfter(accountId: string, afterSeq: number): Promise<number[]> {
    const rows = await this.db.all<{ phoneId: number }>(
      "SELECT DISTINCT phone_id AS \"phoneId\" FROM server_actions WHERE account_id = ? AND seq > ? AND kind IN ('markRead', 'markUnread', 'flag', 'unflag')",
      [accountId, afterSeq],
    );
    return rows.map((r) => r.phoneId);
  }

  async count(accountId: string): Promise<number> {
    return (await this.db.get<{ n: number }>('SELECT COUNT(*) AS n FROM server_actions WHERE account_id = ?', [accountId]))!.n;
  }

  async delete(accountId: string, seq: number): Promise<void> {
    await this.db.run('DELETE FROM server_actions WHERE account_id = ? AND seq = ?', [accountId, seq]);
  }

  /** Is an action about this message still waiting for the desktop? */
  async pendingFor(accountId: string, phoneId: number): Promise<boolean> {
    return (await this.db.get('SELECT 1 FROM server_actions WHERE account_id = ? AND phone_id = ? LIMIT 1', [accountId, phoneId])) !== undefined;
  }

  /** Drop what is pending about a message that left the phone for good (destroy beats everything, docs/spec.md §6). */
  async deleteForMessage(accountId: string, phoneId: number): Promise<void> {
    await this.db.run('DELETE FROM server_actions WHERE account_id = ? AND phone_id = ?', [accountId, phoneId]);
  }
}
