/**
 * Phone changes the desktop keeps refusing (docs/quarantine.md): the agent
 * answers such a server action `quarantined` after a few failed attempts; the
 * server takes it off the action list and keeps it here with the error, so
 * the phone can show what did not reach the desktop and why, and retry it
 * (the action is queued again). One bad message never blocks the account.
 */
import type { MessageIdentity } from '@twinbox/protocol';
import type { ServerActionRow, ServerActionRowKind } from './server-actions.js';
import type { Db } from './db.js';

export interface QuarantinedChange {
  id: number;
  phoneId: number;
  kind: ServerActionRowKind;
  /** A destroy's or an expire's record of what it destroyed. */
  identity: MessageIdentity | null;
  error: string;
  at: number;
}

interface Row {
  id: number;
  phone_id: number;
  kind: ServerActionRowKind;
  folder: 'inbox' | 'trash' | null;
  fingerprint: string | null;
  digest: string | null;
  error: string;
  at: number;
}

const COLUMNS = 'id, phone_id, kind, folder, fingerprint, digest, error, at';

const toChange = (r: Row): QuarantinedChange => ({
  id: r.id,
  phoneId: r.phone_id,
  kind: r.kind,
  identity: r.folder && r.fingerprint && r.digest ? { folder: r.folder, fingerprint: r.fingerprint, digest: r.digest } : null,
  error: r.error,
  at: r.at,
});

export class Quarantine {
  constructor(private readonly db: Db) {}

  /** Set aside the action the desktop kept refusing (its row leaves the action list in the same transaction). */
  add(accountId: string, action: Pick<ServerActionRow, 'phoneId' | 'kind' | 'identity'>, error: string): number {
    const result = this.db
      .prepare('INSERT INTO quarantine (account_id, phone_id, kind, folder, fingerprint, digest, error, at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)')
      .run(accountId, action.phoneId, action.kind, action.identity?.folder ?? null, action.identity?.fingerprint ?? null, action.identity?.digest ?? null, error.slice(0, 2000), Date.now());
    return Number(result.lastInsertRowid);
  }

  list(accountId: string): QuarantinedChange[] {
    return (this.db.prepare(`SELECT ${COLUMNS} FROM quarantine WHERE account_id = ? ORDER BY id`).all(accountId) as Row[]).map(toChange);
  }

  /** Take one out (to retry it): the row goes, its change is returned. */
  take(accountId: string, id: number): QuarantinedChange | undefined {
    const row = this.db.prepare(`SELECT ${COLUMNS} FROM quarantine WHERE account_id = ? AND id = ?`).get(accountId, id) as Row | undefined;
    if (!row) return undefined;
    this.db.prepare('DELETE FROM quarantine WHERE id = ?').run(id);
    return toChange(row);
  }

  /** The message left the phone: nothing of it is to be retried. */
  deleteForMessage(accountId: string, phoneId: number): void {
    this.db.prepare('DELETE FROM quarantine WHERE account_id = ? AND phone_id = ?').run(accountId, phoneId);
  }
}

/**
 * Is this a failure of the store itself (disk full, I/O, locked, corrupt) —
 * no fault of the message being stored, and so a retryable failure of the
 * whole sync — rather than of one message?
 */
export function isStoreFailure(err: unknown): boolean {
  const code = (err as { code?: unknown }).code;
  return typeof code === 'string' && /^SQLITE_(FULL|IOERR|BUSY|LOCKED|READONLY|CORRUPT|CANTOPEN|NOMEM|INTERRUPT|PROTOCOL|NOTADB|PERM)/.test(code);
}
