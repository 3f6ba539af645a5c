/**
 * The SQLite engine (engine.ts): one better-sqlite3 connection, prepared
 * statements cached by their text (a sync runs the same few a thousand
 * times), transactions queued one at a time on the connection.
 *
 * better-sqlite3 is synchronous, so a statement runs at once; what needs
 * care is the async gap inside a transaction: between two of its statements
 * other work runs, and a statement of that work would, on the same
 * connection, see (or join) the open transaction. So while a transaction is
 * open, any statement from outside it waits until it ends, and so does the
 * next transaction (`queue`).
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import type { Logger } from '@twinbox/protocol';
import type Database from 'better-sqlite3';
import { openDatabase, releaseFreePages, type Db } from './db.js';
import { runAfterCommit, type SqlEngine, type TransactionOptions } from './engine.js';

interface Tx {
  open: boolean;
  depth: number;
  after: (() => void)[];
}

export class SqliteEngine implements SqlEngine {
  readonly dialect = 'sqlite' as const;
  readonly nowMs = "CAST(unixepoch('subsec') * 1000 AS INTEGER)";
  private readonly statements = new Map<string, Database.Statement>();
  private readonly context = new AsyncLocalStorage<Tx>();
  /** The transaction holding the connection, if any. */
  private current: Tx | undefined;
  /** Settles when the holder (and everything queued before) is done. */
  private queue: Promise<void> = Promise.resolve();

  constructor(readonly db: Db) {}

  static open(path: string, log?: Logger): SqliteEngine {
    return new SqliteEngine(openDatabase(path, log));
  }

  private statement(sql: string): Database.Statement {
    let statement = this.statements.get(sql);
    if (!statement) {
      statement = this.db.prepare(sql);
      // A cache, not a leak: the store's SQL is a fixed set of texts (lists expand into one JSON parameter).
      if (this.statements.size < 1000) this.statements.set(sql, statement);
    }
    return statement;
  }

  /**
   * Must a statement of this context wait: is a transaction other than its own holding the connection?
   * Checked right before the statement runs, with no await between the two: a statement that waited
   * and found the connection free runs at once, so it can never land inside the next transaction.
   */
  private mustWait(): boolean {
    return this.current !== undefined && this.context.getStore()?.open !== true;
  }

  /**
   * SQLite rolls a whole transaction back by itself after some errors (a full disk, out of memory): a statement
   * of that transaction run after it would be committed on its own. It fails instead, and so does the commit.
   */
  private stillOpen(): void {
    if (this.context.getStore()?.open === true && !this.db.inTransaction) {
      // SQLite's own name for it: a statement of a transaction that was rolled back.
      throw Object.assign(new Error('SQLite rolled this transaction back after an error (a full disk?): nothing of it was kept'), { code: 'SQLITE_ABORT_ROLLBACK' });
    }
  }

  async all<T>(sql: string, params: readonly unknown[] = []): Promise<T[]> {
    while (this.mustWait()) await this.queue;
    this.stillOpen();
    return this.statement(sql).all(...params) as T[];
  }

  async get<T>(sql: string, params: readonly unknown[] = []): Promise<T | undefined> {
    while (this.mustWait()) await this.queue;
    this.stillOpen();
    return this.statement(sql).get(...params) as T | undefined;
  }

  async run(sql: string, params: readonly unknown[] = []): Promise<number> {
    while (this.mustWait()) await this.queue;
    this.stillOpen();
    const statement = this.statement(sql);
    // A statement that returns rows (RETURNING) cannot be `run`.
    if (statement.reader) return statement.all(...params).length;
    return statement.run(...params).changes;
  }

  inTransaction(): boolean {
    return this.context.getStore()?.open === true;
  }

  afterCommit(fn: () => void): void {
    const tx = this.context.getStore();
    if (tx?.open) tx.after.push(fn);
    else fn();
  }

  /** `options` change nothing here: SQLite's transactions all take turns and never need running again. */
  private readonly listeners: ((topic: string, data: unknown) => void)[] = [];

  notify(topic: string, data: unknown): void {
    this.afterCommit(() => runAfterCommit(this.listeners.map((listener) => () => listener(topic, data))));
  }

  async listen(handler: (topic: string, data: unknown) => void): Promise<void> {
    this.listeners.push(handler);
  }

  async transaction<T>(fn: () => Promise<T>, _options?: TransactionOptions): Promise<T> {
    const outer = this.context.getStore();
    if (outer?.open) return this.savepoint(outer, fn);
    // Take our place in the queue: the next transaction (or outside statement) waits for this one's end.
    let release!: () => void;
    const ended = new Promise<void>((resolve) => (release = resolve));
    const before = this.queue;
    this.queue = before.then(() => ended);
    await before;
    const tx: Tx = { open: true, depth: 0, after: [] };
    this.current = tx;
    try {
      // IMMEDIATE: the write lock up front, so another process's writer queues (busy_timeout) instead of failing.
      this.db.exec('BEGIN IMMEDIATE');
      let result: T;
      try {
        result = await this.context.run(tx, fn);
        this.context.run(tx, () => this.stillOpen());
        this.db.exec('COMMIT');
      } catch (err) {
        if (this.db.inTransaction) this.db.exec('ROLLBACK');
        throw err;
      }
      tx.open = false;
      this.current = undefined;
      release();
      runAfterCommit(tx.after);
      return result;
    } finally {
      tx.open = false;
      if (this.current === tx) this.current = undefined;
      release();
    }
  }

  private async savepoint<T>(tx: Tx, fn: () => Promise<T>): Promise<T> {
    this.stillOpen();
    const name = `sp${++tx.depth}`;
    const after = tx.after.length;
    this.db.exec(`SAVEPOINT ${name}`);
    try {
      const result = await fn();
      this.db.exec(`RELEASE ${name}`);
      return result;
    } catch (err) {
      this.db.exec(`ROLLBACK TO ${name}`);
      this.db.exec(`RELEASE ${name}`);
      tx.after.length = after;
      throw err;
    } finally {
      tx.depth--;
    }
  }

  async dataVersion(): Promise<string> {
    while (this.mustWait()) await this.queue;
    return String(this.db.pragma('data_version', { simple: true }));
  }

  async releaseFreePages(): Promise<number> {
    while (this.mustWait()) await this.queue;
    return releaseFreePages(this.db);
  }

  inList(expr: string, values: readonly (string | number)[], negate = false): { sql: string; params: unknown[] } {
    return { sql: `${expr} ${negate ? 'NOT IN' : 'IN'} (SELECT value FROM json_each(?))`, params: [JSON.stringify(values)] };
  }

  async close(): Promise<void> {
    while (this.current) await this.queue;
    this.db.close();
  }
}
