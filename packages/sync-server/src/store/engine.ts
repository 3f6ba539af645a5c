/**
 * The database under the server's store: SQLite (one file, the default for
 * one machine) or PostgreSQL (several server nodes on one database,
 * docs/scaling.md). The store's code is written once, against this narrow
 * async interface, in the SQL both engines share; where they differ, the
 * engine gives the fragment (`inList`) — so every query exists once.
 *
 * Why not a query builder (Kysely): the store is a few dozen plain queries;
 * portable SQL keeps them readable as SQL, needs no second schema language,
 * and lets SQLite keep its cached prepared statements (its speed on the
 * one-box path) while PostgreSQL gets the same text with `$n` placeholders.
 *
 * Transactions: `transaction(fn)` runs `fn` so that every store call made
 * inside it, however deep, uses that transaction (AsyncLocalStorage carries
 * it), and is all-or-nothing. Both engines serialise transactions as SQLite
 * always did: SQLite queues them on its one connection (and a statement
 * outside a transaction waits for the one in progress, so it never reads
 * uncommitted rows); PostgreSQL runs them SERIALIZABLE and runs `fn` again
 * when the database reports a serialization failure or a deadlock. So `fn`
 * may run more than once: its effects outside the database go in
 * `afterCommit`, which runs once, after the commit, and never on rollback.
 * Work that cannot run twice (a sync session's frames: they change the
 * session's state and queue answers) says `retry: false` and fails instead.
 *
 * `scope` (an account id) makes transactions of one account take turns on
 * PostgreSQL too: each first takes the account's transaction-scoped advisory
 * lock (which a pooler in transaction mode keeps) and then runs READ
 * COMMITTED — it reads what the one before it committed, and no other
 * transaction of the account runs beside it, so it needs no retry. Every
 * transaction that writes an account's rows names the account. Accounts do
 * not wait for each other.
 */

export interface TransactionOptions {
  /** The account the transaction is about: its transactions take turns (PostgreSQL; SQLite's all do). */
  scope?: string;
  /** Run `fn` again after a serialization failure (default true); false: the failure is thrown. */
  retry?: boolean;
}

export type Dialect = 'sqlite' | 'postgres';

export interface SqlEngine {
  readonly dialect: Dialect;
  /** Rows of a query; `?` placeholders, values in order. */
  all<T>(sql: string, params?: readonly unknown[]): Promise<T[]>;
  /** The first row, if any. */
  get<T>(sql: string, params?: readonly unknown[]): Promise<T | undefined>;
  /** Run a statement; returns the number of rows it changed. */
  run(sql: string, params?: readonly unknown[]): Promise<number>;
  /** Run `fn` in one transaction (nested: a savepoint, whose options are the outer one's); see the module's comment. */
  transaction<T>(fn: () => Promise<T>, options?: TransactionOptions): Promise<T>;
  /** Run `fn` once the transaction in progress commits (now, when none is). */
  afterCommit(fn: () => void): void;
  /**
   * Tell every node on the database, this one included, `topic` with a small
   * JSON-able `data` (ids, never mail), once the transaction in progress
   * commits (now, when none is); never for one that rolls back. SQLite: this
   * process only (it is the one node). PostgreSQL: NOTIFY, which delivers at
   * commit, in commit order, and once for the same message in one transaction.
   */
  notify(topic: string, data: unknown): void;
  /** Hear every node's notifications (PostgreSQL: LISTEN on a connection of its own, reconnected if it drops). */
  listen(handler: (topic: string, data: unknown) => void): Promise<void>;
  /** Is a transaction of this async context in progress? */
  inTransaction(): boolean;
  /**
   * A value that changes whenever another connection commits (SQLite's
   * data_version); undefined where the engine cannot tell (PostgreSQL: any
   * node may have written), so a caller must assume a change.
   */
  dataVersion(): Promise<string | undefined>;
  /** Give free pages back to the file system (SQLite); PostgreSQL's autovacuum does it. Returns pages freed. */
  releaseFreePages(): Promise<number>;
  /** An SQL expression for the database's clock now, in ms since the epoch (leases use one clock for every node). */
  readonly nowMs: string;
  /** A fragment `expr IN (…)` (or `NOT IN` with `negate`) for a list of values, with its parameters. */
  inList(expr: string, values: readonly (string | number)[], negate?: boolean): { sql: string; params: unknown[] };
  close(): Promise<void>;
}

/** The schema version this release writes (both engines: store/schema.ts, store/schema-postgres.ts). */
export const SCHEMA_VERSION = 17;

/**
 * `?` placeholders to PostgreSQL's `$1, $2, …`. The store's SQL has no `?`
 * inside string literals or identifiers, but quoted text is skipped anyway.
 */
export function numberedPlaceholders(sql: string): string {
  let out = '';
  let n = 0;
  let quote: string | undefined;
  for (const ch of sql) {
    if (quote) {
      if (ch === quote) quote = undefined;
      out += ch;
    } else if (ch === "'" || ch === '"') {
      quote = ch;
      out += ch;
    } else if (ch === '?') out += `$${++n}`;
    else out += ch;
  }
  return out;
}

/**
 * Run what waited for a commit. The transaction has committed: a callback
 * that throws (a bug in a listener) must not make its caller think it failed,
 * nor stop the others; it is reported as a process warning.
 */
export function runAfterCommit(callbacks: readonly (() => void)[]): void {
  for (const callback of callbacks) {
    try {
      callback();
    } catch (err) {
      process.emitWarning(`a store listener failed after a commit: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
    }
  }
}
