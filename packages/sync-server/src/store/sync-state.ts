/**
 * What the server remembers about its agent: the pairing epoch, the number of
 * the last completed sync, and which agent actions it has applied (with their
 * results, so that a resent action gets the same answer: docs/spec.md §10).
 */
import type { ActionResult, SyncStats } from '@twinbox/protocol';
import type { SqlEngine } from './engine.js';

export interface SyncState {
  agentId: string | null;
  syncEpoch: string | null;
  lastSyncNo: number;
  lastSyncAt: number | null;
  lastStats: SyncStats | null;
}

export interface AppliedAction {
  result: ActionResult;
  phoneId: number | null;
}

export class SyncStates {
  constructor(private readonly db: SqlEngine) {}

  /** A sync of the account has begun (for those who watch, on every node: the phone's "Sync now" shows it). */
  started(accountId: string): void {
    this.db.notify('sync', { accountId, event: { state: 'started' } });
  }

  async get(accountId: string): Promise<SyncState> {
    const row = await this.db.get<{ agent_id: string | null; sync_epoch: string | null; last_sync_no: number; last_sync_at: number | null; last_stats: string | null }>(
      'SELECT * FROM sync_state WHERE account_id = ?',
      [accountId],
    );
    if (!row) return { agentId: null, syncEpoch: null, lastSyncNo: 0, lastSyncAt: null, lastStats: null };
    return {
      agentId: row.agent_id,
      syncEpoch: row.sync_epoch,
      lastSyncNo: row.last_sync_no,
      lastSyncAt: row.last_sync_at,
      lastStats: row.last_stats ? (JSON.parse(row.last_stats) as SyncStats) : null,
    };
  }

  /** Start a new pairing epoch: what was pending or applied belongs to the old one (patent [0041]). */
  async beginEpoch(accountId: string, agentId: string, syncEpoch: string): Promise<void> {
    await this.db.run('UPDATE sync_state SET agent_id = ?, sync_epoch = ?, last_sync_no = 0 WHERE account_id = ?', [agentId, syncEpoch, accountId]);
    await this.db.run('DELETE FROM applied_agent_actions WHERE account_id = ?', [accountId]);
  }

  async applied(accountId: string, seq: number): Promise<AppliedAction | undefined> {
    return this.db.get<AppliedAction>('SELECT result, phone_id AS "phoneId" FROM applied_agent_actions WHERE account_id = ? AND seq = ?', [accountId, seq]);
  }

  /** The highest sequence number with a record of an applied action (0: none). */
  async highestApplied(accountId: string): Promise<number> {
    const row = await this.db.get<{ s: number | null }>('SELECT MAX(seq) AS s FROM applied_agent_actions WHERE account_id = ?', [accountId]);
    return row?.s ?? 0;
  }

  async recordApplied(accountId: string, seq: number, result: ActionResult, phoneId: number | null): Promise<void> {
    await this.db.run('INSERT INTO applied_agent_actions (account_id, seq, result, phone_id) VALUES (?, ?, ?, ?)', [accountId, seq, result, phoneId]);
  }

  /** An initial sync lists the phone as of now: phone actions up to this seq are in that list. */
  async setInitialThrough(accountId: string, seq: number): Promise<void> {
    await this.db.run('UPDATE sync_state SET initial_through_seq = ? WHERE account_id = ?', [seq, accountId]);
  }

  async initialThrough(accountId: string): Promise<number> {
    const row = await this.db.get<{ s: number | null }>('SELECT initial_through_seq AS s FROM sync_state WHERE account_id = ?', [accountId]);
    return row?.s ?? 0;
  }

  /** Forget applied actions the agent has forgotten too: it never resends them. */
  async prune(accountId: string, ackedThrough: number): Promise<void> {
    await this.db.run('DELETE FROM applied_agent_actions WHERE account_id = ? AND seq <= ?', [accountId, ackedThrough]);
  }

  async complete(accountId: string, syncNo: number, stats: SyncStats): Promise<void> {
    const now = Date.now();
    await this.db.run('UPDATE sync_state SET last_sync_no = ?, last_sync_at = ?, last_stats = ? WHERE account_id = ?', [syncNo, now, JSON.stringify(stats), accountId]);
    await this.db.run('INSERT INTO sync_log (account_id, sync_no, finished_at, stats) VALUES (?, ?, ?, ?)', [accountId, syncNo, now, JSON.stringify(stats)]);
    this.db.notify('sync', { accountId, event: { state: 'completed', stats } });
  }
}
