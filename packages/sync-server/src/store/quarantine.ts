/**
 * Phone changes the desktop keeps refusing (docs/quarantine.md): the agent
 * answers such a server action `quarantined` after a few failed attempts; the
 * server takes it off the action list and keeps it here with the error, so
 * the phone can show what did not reach the desktop and why, and retry it
 * (the action is queued again). One bad message never blocks the account.
 */
import type { MessageIdentity } from '@twinbox/protocol';
import type { ServerActionRow, ServerActionRowKind } from './server-actions.js';
import type { SqlEngine } from './engine.js';

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
  constructor(private readonly db: SqlEngine) {}

  /** Set aside the action the desktop kept refusing (its row leaves the action list in the same transaction). */
  async add(accountId: string, action: Pick<ServerActionRow, 'phoneId' | 'kind' | 'identity'>, error: string): Promise<number> {
    const row = await this.db.get<{ id: number }>('INSERT INTO quarantine (account_id, phone_id, kind, folder, fingerprint, digest, error, at) VALUES (?, ?, ?, ?, ?, ?, ?, ?) RETURNING id', [
      accountId,
      action.phoneId,
      action.kind,
      action.identity?.folder ?? null,
      action.identity?.fingerprint ?? null,
      action.identity?.digest ?? null,
      error.slice(0, 2000),
      Date.now(),
    ]);
    return row!.id;
  }

  async list(accountId: string): Promise<QuarantinedChange[]> {
    return (await this.db.all<Row>(`SELECT ${COLUMNS} FROM quarantine WHERE account_id = ? ORDER BY id`, [accountId])).map(toChange);
  }

  /** Take one out (to retry it): the row goes, its change is returned. */
  async take(accountId: string, id: number): Promise<QuarantinedChange | undefined> {
    const row = await this.db.get<Row>(`DELETE FROM quarantine WHERE account_id = ? AND id = ? RETURNING ${COLUMNS}`, [accountId, id]);
    return row ? toChange(row) : undefined;
  }

  /** The message left the phone: nothing of it is to be retried. */
  async deleteForMessage(accountId: string, phoneId: number): Promise<void> {
    await this.db.run('DELETE FROM quarantine WHERE account_id = ? AND phone_id = ?', [accountId, phoneId]);
  }
}

/**
 * Is this a failure of the store itself (disk full, I/O, locked, corrupt,
 * the database unreachable or shutting down) — no fault of the message
 * being stored, and so a retryable failure of the whole sync — rather than
 * of one message? SQLite's result codes; PostgreSQL's SQLSTATE classes 08
 * (connection), 53 (resources), 57 (operator intervention: a shutdown),
 * 58 (system), XX (internal), a serialization failure that kept recurring,
 * and the socket errors of a database that went away.
 */
export function isStoreFailure(err: unknown): boolean {
  const code = (err as { code?: unknown }).code;
  if (typeof code === 'string') {
    if (/^SQLITE_(FULL|IOERR|BUSY|LOCKED|READONLY|CORRUPT|CANTOPEN|NOMEM|INTERRUPT|PROTOCOL|NOTADB|PERM|ABORT_ROLLBACK)/.test(code)) return true;
    if (/^(08|53|57|58|XX)[0-9A-Z]{3}$/.test(code) || code === '40001' || code === '40P01') return true;
    if (/^(ECONNREFUSED|ECONNRESET|EPIPE|ETIMEDOUT|EHOSTUNREACH|ENOTFOUND)$/.test(code)) return true;
  }
  // node-postgres ends a query on a connection that dropped with a plain Error (and refuses the next one so).
  return err instanceof Error && /^Connection terminated|^timeout exceeded when trying to connect|^Client has encountered a connection error|^Client was closed/.test(err.message);
}
