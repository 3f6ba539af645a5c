/**
 * Which session runs each account's sync, across every server node on the
 * database (docs/spec.md §9: one sync per account at a time; docs/scaling.md).
 * A lease is a row: its holder (node and session) and when it expires, by
 * the database's clock (one clock for all nodes, whatever theirs say). The
 * holder renews it while the sync runs and deletes it when the sync ends; a
 * node killed mid-sync renews nothing, and once its lease has expired
 * another node may take the account. Rows, not session advisory locks: they
 * work through a connection pooler in transaction mode.
 *
 * The same leases, in `cluster_jobs`, let one node at a time do work of the
 * whole deployment (housekeeping.ts).
 */
import type { SqlEngine } from './engine.js';

/** A lease's holder: the node (its configured name), this run of it (a random boot id), and the session. */
export interface LeaseHolder {
  node: string;
  boot: string;
  session: number;
}

const nameOf = (h: LeaseHolder) => `${h.node}/${h.boot}/${h.session}`;
/** LIKE patterns are built from these: the characters LIKE gives a meaning are left out. */
const plain = (text: string) => text.replace(/[%_\\/]/g, '');

/** The tables leases are kept in, and the column each names its thing by (constants: never input). */
const TABLES = {
  /** One sync per account. */
  sync_leases: 'account_id',
  /** Work of the whole deployment that one node does at a time (housekeeping). */
  cluster_jobs: 'name',
} as const;

export class SyncLeases {
  private readonly key: string;

  constructor(
    private readonly db: SqlEngine,
    private readonly table: keyof typeof TABLES = 'sync_leases',
  ) {
    this.key = TABLES[table];
  }

  /**
   * Take the account's lease for `ttlMs`, if it is free, expired, or held
   * under this node's name: by an earlier run (restarted under its name: its
   * sessions are gone, so the account need not wait), or by an ended session
   * of this run whose release did not reach the database (it was away). The
   * caller makes sure one holder at a time within a run (account-locks.ts,
   * housekeeping.ts).
   */
  async acquire(accountId: string, holder: LeaseHolder, ttlMs: number): Promise<boolean> {
    const now = this.db.nowMs;
    const name = nameOf(holder);
    const row = await this.db.get<{ holder: string }>(
      `INSERT INTO ${this.table} (${this.key}, holder, expires_at) VALUES (?, ?, ${now} + ?)
       ON CONFLICT (${this.key}) DO UPDATE SET holder = excluded.holder, expires_at = excluded.expires_at
         WHERE ${this.table}.expires_at < ${now} OR ${this.table}.holder = excluded.holder
            OR ${this.table}.holder LIKE ?
       RETURNING holder`,
      [accountId, name, ttlMs, `${plain(holder.node)}/%`],
    );
    return row?.holder === name;
  }

  /** Extend the holder's lease; false when it is no longer the holder's, or expired (another node may have taken it meanwhile). */
  async renew(accountId: string, holder: LeaseHolder, ttlMs: number): Promise<boolean> {
    const now = this.db.nowMs;
    return (await this.db.run(`UPDATE ${this.table} SET expires_at = ${now} + ? WHERE ${this.key} = ? AND holder = ? AND expires_at >= ${now}`, [ttlMs, accountId, nameOf(holder)])) > 0;
  }

  async release(accountId: string, holder: LeaseHolder): Promise<void> {
    await this.db.run(`DELETE FROM ${this.table} WHERE ${this.key} = ? AND holder = ?`, [accountId, nameOf(holder)]);
  }

  /** Who holds the account's lease now, if anyone (`node/boot/session`: for operators and tests). */
  async holder(accountId: string): Promise<string | undefined> {
    const row = await this.db.get<{ holder: string }>(`SELECT holder FROM ${this.table} WHERE ${this.key} = ? AND expires_at >= ${this.db.nowMs}`, [accountId]);
    return row?.holder;
  }
}
