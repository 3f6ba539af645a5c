/**
 * The server's action list (patent FIG. 2C, 220): phone-side changes waiting
 * to be sent to the desktop. Rows are appended in the transaction of the change
 * they record and deleted in the transaction that applies their acknowledgement.
 */
import { EventEmitter } from 'node:events';
import type { MessageActionKind } from '@twinbox/protocol';
import type { Db } from './db.js';

export type ServerActionRowKind = 'insert' | 'deliver' | 'sent' | MessageActionKind;

export interface ServerActionRow {
  seq: number;
  kind: ServerActionRowKind;
  phoneId: number;
}

export class ServerActions {
  /** 'appended' (accountId): a phone change was recorded in this process (live push listens). */
  readonly events = new EventEmitter();

  constructor(private readonly db: Db) {}

  append(accountId: string, kind: ServerActionRowKind, phoneId: number): number {
    const result = this.db
      .prepare('INSERT INTO server_actions (account_id, kind, phone_id, created_at) VALUES (?, ?, ?, ?)')
      .run(accountId, kind, phoneId, Date.now());
    // After the enclosing transaction commits: a listener must not see an action that may roll back.
    setImmediate(() => this.events.emit('appended', accountId));
    return Number(result.lastInsertRowid);
  }

  pending(accountId: string): ServerActionRow[] {
    return this.db
      .prepare('SELECT seq, kind, phone_id AS phoneId FROM server_actions WHERE account_id = ? ORDER BY seq')
      .all(accountId) as ServerActionRow[];
  }

  get(accountId: string, seq: number): ServerActionRow | undefined {
    return this.db
      .prepare('SELECT seq, kind, phone_id AS phoneId FROM server_actions WHERE account_id = ? AND seq = ?')
      .get(accountId, seq) as ServerActionRow | undefined;
  }

  count(accountId: string): number {
    return (this.db.prepare('SELECT COUNT(*) AS n FROM server_actions WHERE account_id = ?').get(accountId) as { n: number }).n;
  }

  delete(accountId: string, seq: number): void {
    this.db.prepare('DELETE FROM server_actions WHERE account_id = ? AND seq = ?').run(accountId, seq);
  }

  /** Drop what is pending about a message that left the phone for good (destroy beats everything, SPEC §6). */
  deleteForMessage(accountId: string, phoneId: number): void {
    this.db.prepare('DELETE FROM server_actions WHERE account_id = ? AND phone_id = ?').run(accountId, phoneId);
  }

  clear(accountId: string): void {
    this.db.prepare('DELETE FROM server_actions WHERE account_id = ?').run(accountId);
  }
}
