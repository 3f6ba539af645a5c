/**
 * The PostgreSQL engine (engine.ts; docs/scaling.md): a pool of connections
 * shared by the node's work; a transaction takes one connection for its
 * length. One about an account (`scope`) takes the account's advisory lock
 * first and runs READ COMMITTED: the account's transactions, on every node,
 * run one after the other. Any other runs SERIALIZABLE, and runs again (after
 * a short random pause) when PostgreSQL reports a serialization failure
 * (40001) or a deadlock (40P01). Either way concurrent transactions behave
 * as if they had run one at a time, as they do on SQLite.
 *
 * Round trips: the connection pipelines (node-postgres' `pipeline`), and a
 * transaction holds back its control statements — BEGIN, the lock,
 * SAVEPOINT, RELEASE — until its next statement, which they travel with;
 * COMMIT carries the notifications. A batch of a sync session so costs its
 * statements and one COMMIT, not four more round trips and two per frame.
 *
 * Statements are prepared once per connection and run by name (unless
 * `preparedStatements` is off): parsing and planning them at every execution
 * cost PostgreSQL a third of its CPU in the multi-node benchmark.
 *
 * Integers: the schema's BIGINT columns (times in ms) and COUNT/SUM come
 * back as JavaScript numbers, not strings: every value the store keeps is
 * far below 2^53.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import pg from 'pg';
import { numberedPlaceholders, runAfterCommit, type SqlEngine, type TransactionOptions } from './engine.js';
import { CHANNEL, PostgresListener } from './postgres-listener.js';

const INT8 = 20;
const NUMERIC = 1700;
const RETRYABLE = new Set(['40001', '40P01']);
/** Enough for a burst of transactions on one row, each retry after a longer random pause. */
const MAX_ATTEMPTS = 20;

interface Tx {
  /** The transaction's connection: taken from the pool when its first statement is sent (`connection`). */
  client: pg.PoolClient | undefined;
  clientReady: Promise<pg.PoolClient> | undefined;
  open: boolean;
  depth: number;
  after: (() => void)[];
  /** Notifications to send at commit (engine.ts `notify`). */
  notes: string[];
  /**
   * Control statements not sent yet — BEGIN and the account's lock, savepoints and their ends — in order.
   * They go out right before the next statement, pipelined with it: one round trip for all of them
   * (see `connection`). A transaction or a savepoint that runs no statement sends none.
   */
  pending: string[];
  /** How many control statements were sent: a savepoint's are unsent while its position is at or past it. */
  sent: number;
  /** The control statements in flight, whose failure is the real cause of the statement after them failing. */
  controls: Promise<unknown>[];
  controlError: Error | undefined;
}

/** The pool's connections that have an 'error' listener of ours (checkout). */
const HEARD = new WeakSet<pg.PoolClient>();

/** NOTIFY's payload limit is 8,000 bytes: what is notified is ids. */
const MAX_NOTE_BYTES = 7_900;
/** Sends a transaction's notifications (one array parameter: its distinct payloads). */
const NOTIFY_ALL = `SELECT pg_notify('${CHANNEL}', n) FROM unnest($1::text[]) AS n`;

export interface PostgresEngineOptions {
  url: string;
  /** Connections in the pool (default 10). */
  poolSize?: number;
  /** The application_name PostgreSQL shows for these connections. */
  applicationName?: string;
  /** Where the LISTEN connection goes when `url` is a pooler in transaction mode (default: `url`). */
  listenUrl?: string;
  /** How often the LISTEN connection is checked (default 15 s; postgres-listener.ts). */
  listenProbeMs?: number;
  /**
   * Prepare each statement once per connection and run it by name after (default on): PostgreSQL parses and
   * plans it once, not at every execution — a third of its CPU under the multi-node benchmark. Off for a
   * pooler in transaction mode that cannot carry prepared statements (PgBouncer before 1.21, or with
   * `max_prepared_statements = 0`): the next transaction may run on another server connection.
   */
  preparedStatements?: boolean;
}

/** Numbers as numbers (see the module's comment); everything else as pg parses it. */
const types = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary') => {
    if ((oid === INT8 || oid === NUMERIC) && format !== 'binary') return (value: string) => Number(value);
    return pg.types.getTypeParser(oid, format);
  }) as typeof pg.types.getTypeParser,
};

/**
 * PostgreSQL's text cannot hold U+0000, which SQLite's can: a subject or a
 * preview derived from a hostile mail may carry one. It is stored as U+FFFD
 * (the message's bytes, a BYTEA, keep it; so does its digest).
 */
function textSafe(value: unknown): unknown {
  return typeof value === 'string' && value.includes('\0') ? value.replaceAll('\0', '\uFFFD') : value;
}

export class PostgresEngine implements SqlEngine {
  readonly dialect = 'postgres' as const;
  readonly nowMs = 'CAST(EXTRACT(EPOCH FROM clock_timestamp()) * 1000 AS BIGINT)';
  readonly pool: pg.Pool;
  private readonly context = new AsyncLocalStorage<Tx>();
  private readonly texts = new Map<string, { text: string; name: string | undefined }>();

  private readonly listener: PostgresListener;

  private readonly prepared: boolean;
  /** Statements named so far: names are never used twice, so after a schema change the texts get new ones (staleAfterSchemaChange). */
  private named = 0;

  constructor(options: PostgresEngineOptions) {
    this.prepared = options.preparedStatements ?? true;
    this.listener = new PostgresListener({
      url: options.listenUrl ?? options.url,
      applicationName: `${options.applicationName ?? 'twinbox-server'} (listen)`,
      types,
      ...(options.listenProbeMs === undefined ? {} : { probeMs: options.listenProbeMs }),
    });
    this.pool = new pg.Pool({
      connectionString: options.url,
      max: options.poolSize ?? 10,
      // A database that does not answer a connection in time is a store failure (retryable), not a hang.
      connectionTimeoutMillis: 10_000,
      keepAlive: true,
      application_name: options.applicationName ?? 'twinbox-server',
      types,
      // A query is written without waiting for the answer to the one before (node-postgres' pipelining):
      // a transaction's BEGIN, lock and savepoints travel with its next statement, not a round trip each.
      pipeline: true,
    });
    // An idle connection the server ended (a restart, a failover) is dropped from the pool; the next query takes a new one.
    this.pool.on('error', () => undefined);
  }

  /**
   * `sql` with `$n` placeholders (made once per text; the store's statements are a few dozen fixed texts),
   * and the name it is prepared under on each connection (none with `preparedStatements` off, or past the cache).
   */
  private statement(sql: string): { text: string; name: string | undefined } {
    let statement = this.texts.get(sql);
    if (statement === undefined) {
      const cached = this.texts.size < 1000;
      statement = { text: numberedPlaceholders(sql), name: cached && this.prepared ? `tb${this.named++}` : undefined };
      if (cached) this.texts.set(sql, statement);
    }
    return statement;
  }

  /**
   * A prepared `SELECT *` whose table another node's migration changed (a rolling upgrade: ALTER TABLE … ADD
   * COLUMN) fails with "cached plan must not change result type" on every connection that prepared it. The
   * statements are then prepared again under new names; the query, or its transaction, runs again.
   */
  private staleAfterSchemaChange(err: unknown): boolean {
    const { code, message } = err as { code?: unknown; message?: unknown };
    if (!this.prepared || code !== '0A000' || typeof message !== 'string' || !message.includes('cached plan')) return false;
    this.texts.clear();
    return true;
  }

  private async query<T>(sql: string, params: readonly unknown[]): Promise<pg.QueryResult & { rows: T[] }> {
    const values = params.map(textSafe);
    const queryOf = () => {
      const { text, name } = this.statement(sql);
      return { text, ...(name ? { name } : {}), values };
    };
    const tx = this.context.getStore();
    if (!tx?.open) {
      try {
        return (await this.pool.query(queryOf())) as pg.QueryResult & { rows: T[] };
      } catch (err) {
        if (!this.staleAfterSchemaChange(err)) throw err;
        return (await this.pool.query(queryOf())) as pg.QueryResult & { rows: T[] };
      }
    }
    const query = queryOf();
    const client = await this.connection(tx);
    try {
      coalesce(client);
      return (await client.query(query)) as pg.QueryResult & { rows: T[] };
    } catch (err) {
      throw await this.cause(tx, err);
    }
  }

  async all<T>(sql: string, params: readonly unknown[] = []): Promise<T[]> {
    return (await this.query<T>(sql, params)).rows;
  }

  async get<T>(sql: string, params: readonly unknown[] = []): Promise<T | undefined> {
    return (await this.query<T>(sql, params)).rows[0];
  }

  async run(sql: string, params: readonly unknown[] = []): Promise<number> {
    return (await this.query(sql, params)).rowCount ?? 0;
  }

  inTransaction(): boolean {
    return this.context.getStore()?.open === true;
  }

  afterCommit(fn: () => void): void {
    const tx = this.context.getStore();
    if (tx?.open) tx.after.push(fn);
    else fn();
  }

  /**
   * A connection of the pool for a transaction. The pool listens for errors of idle connections only: one
   * checked out, that PostgreSQL ends between two statements (a restart, a crash, a failover), would emit an
   * 'error' nobody hears and end the process. Heard here; its next statement fails, and so the transaction.
   */
  async checkout(): Promise<pg.PoolClient> {
    const client = await this.pool.connect();
    if (!HEARD.has(client)) {
      HEARD.add(client);
      client.on('error', () => undefined);
    }
    return client;
  }

  /**
   * The transaction's connection, with its unsent control statements written ahead of what the caller
   * sends next: pipelined, so they cost no round trip of their own. Their answers are not awaited; a
   * failure among them fails the statement after them too (the transaction is aborted), and `cause`
   * then reports theirs — the lock's deadlock or the lost connection, not "transaction is aborted".
   */
  private async connection(tx: Tx): Promise<pg.PoolClient> {
    tx.clientReady ??= this.checkout().then((client) => (tx.client = client));
    const client = await tx.clientReady;
    if (tx.pending.length > 0) {
      coalesce(client);
      const statements = tx.pending.splice(0);
      tx.sent += statements.length;
      for (const statement of statements) {
        const sent = client.query(statement);
        sent.catch((err: unknown) => (tx.controlError ??= err as Error));
        tx.controls.push(sent);
      }
    }
    return client;
  }

  /** What made a statement of `tx` fail: a control statement sent before it, if one failed, else its own error. */
  private async cause(tx: Tx, err: unknown): Promise<unknown> {
    await Promise.allSettled(tx.controls);
    return tx.controlError ?? err;
  }

  async transaction<T>(fn: () => Promise<T>, options: TransactionOptions = {}): Promise<T> {
    const outer = this.context.getStore();
    if (outer?.open) return this.savepoint(outer, fn);
    for (let attempt = 1; ; attempt++) {
      const tx: Tx = { client: undefined, clientReady: undefined, open: true, depth: 0, after: [], notes: [], pending: [], sent: 0, controls: [], controlError: undefined };
      if (options.scope === undefined) tx.pending.push('BEGIN ISOLATION LEVEL SERIALIZABLE');
      else {
        // The account's transactions take turns on its lock; each statement then reads what the one before it
        // committed (READ COMMITTED: a SERIALIZABLE snapshot would be taken before the wait, and fail after it).
        // hashtextextended: the account id as the lock's 64-bit key (a collision only makes two accounts take turns).
        // The id is written as a literal (control statements take no parameters): escaped, so any text is safe.
        tx.pending.push('BEGIN ISOLATION LEVEL READ COMMITTED', `SELECT pg_advisory_xact_lock(hashtextextended(${pg.escapeLiteral(options.scope)}, 0))`);
      }
      let broken: Error | undefined;
      try {
        const result = await this.context.run(tx, fn);
        await this.commit(tx);
        tx.open = false;
        runAfterCommit(tx.after);
        return result;
      } catch (err) {
        tx.open = false;
        const client = tx.client ?? (tx.clientReady ? await tx.clientReady.catch(() => undefined) : undefined);
        if (client) await client.query('ROLLBACK').catch((e: unknown) => (broken = e as Error));
        const code = (err as { code?: unknown }).code;
        const again = (typeof code === 'string' && RETRYABLE.has(code)) || this.staleAfterSchemaChange(err);
        if (options.retry !== false && again && attempt < MAX_ATTEMPTS) {
          await new Promise((resolve) => setTimeout(resolve, Math.random() * 10 * attempt));
          continue;
        }
        throw err;
      } finally {
        tx.open = false;
        // A connection whose ROLLBACK failed is in no known state: destroyed, not returned to the pool.
        if (tx.clientReady) (await tx.clientReady.catch(() => undefined))?.release(broken);
      }
    }
  }

  /**
   * Commit `tx`: what is still pending (but the savepoints' RELEASEs, which COMMIT makes needless), the
   * notifications — which PostgreSQL delivers at the commit, and drops with a rollback — and COMMIT, in
   * one round trip. A transaction that sent no statement has nothing to commit.
   */
  private async commit(tx: Tx): Promise<void> {
    const notes = [...new Set(tx.notes)];
    if (tx.clientReady === undefined) {
      if (notes.length > 0) await this.pool.query(NOTIFY_ALL, [notes]);
      return;
    }
    tx.pending = tx.pending.filter((statement) => !statement.startsWith('RELEASE '));
    const client = await this.connection(tx);
    try {
      coalesce(client);
      if (notes.length > 0) {
        const noted = client.query(NOTIFY_ALL, [notes]);
        noted.catch((err: unknown) => (tx.controlError ??= err as Error));
        tx.controls.push(noted);
      }
      // A transaction a failed statement aborted answers COMMIT with ROLLBACK, not an error: nothing of it
      // happened, and the caller must not act as if it had (an acknowledgement sent for it, docs/spec.md §10).
      const commit = await client.query('COMMIT');
      if (commit.command === 'ROLLBACK') throw new Error('the transaction was rolled back: a statement in it failed');
    } catch (err) {
      throw await this.cause(tx, err);
    }
  }

  /**
   * A savepoint costs nothing until a statement runs inside it: SAVEPOINT is sent with that statement, and
   * its RELEASE (or ROLLBACK TO) with whatever comes after — or not at all, when the savepoint stayed unsent.
   */
  private async savepoint<T>(tx: Tx, fn: () => Promise<T>): Promise<T> {
    const name = `sp${++tx.depth}`;
    const after = tx.after.length;
    const notes = tx.notes.length;
    const position = tx.sent + tx.pending.length;
    tx.pending.push(`SAVEPOINT ${name}`);
    const unsent = () => position >= tx.sent;
    try {
      const result = await fn();
      if (unsent()) tx.pending.length = position - tx.sent;
      else tx.pending.push(`RELEASE SAVEPOINT ${name}`);
      return result;
    } catch (err) {
      if (unsent()) tx.pending.length = position - tx.sent;
      else tx.pending.push(`ROLLBACK TO SAVEPOINT ${name}`, `RELEASE SAVEPOINT ${name}`);
      tx.after.length = after;
      tx.notes.length = notes;
      throw err;
    } finally {
      tx.depth--;
    }
  }

  notify(topic: string, data: unknown): void {
    const note = JSON.stringify({ t: topic, d: data });
    if (Buffer.byteLength(note) > MAX_NOTE_BYTES) throw new Error(`a notification of ${topic} is too large for NOTIFY`);
    const tx = this.context.getStore();
    if (tx?.open) return void tx.notes.push(note);
    // Outside a transaction: sent now; a failure is the database's, and the change it announces is committed already.
    this.pool.query(`SELECT pg_notify('${CHANNEL}', $1)`, [note]).catch(() => undefined);
  }

  async listen(handler: (topic: string, data: unknown) => void): Promise<void> {
    await this.listener.listen(handler);
  }

  async dataVersion(): Promise<undefined> {
    return undefined;
  }

  async releaseFreePages(): Promise<number> {
    return 0;
  }

  inList(expr: string, values: readonly (string | number)[], negate = false): { sql: string; params: unknown[] } {
    // One array parameter, whatever the list's length; its element type is the column's.
    return { sql: negate ? `${expr} <> ALL(?)` : `${expr} = ANY(?)`, params: [values] };
  }

  async close(): Promise<void> {
    await this.listener.close();
    await this.pool.end();
  }
}

/** Connections whose socket is corked until the end of this tick (coalesce). */
const CORKED = new WeakSet<pg.PoolClient>();

/**
 * What a transaction sends in one tick — its control statements and the statement after them, a page of
 * pipelined updates, the notifications and COMMIT — leaves in one write, not a system call (and a wake-up of
 * the server process) per statement: the connection's socket is corked, and uncorked once the tick's work is done.
 */
function coalesce(client: pg.PoolClient): void {
  if (CORKED.has(client)) return;
  const stream = (client as unknown as { connection?: { stream?: { cork?(): void; uncork?(): void } } }).connection?.stream;
  if (!stream?.cork || !stream.uncork) return;
  CORKED.add(client);
  stream.cork();
  process.nextTick(() => {
    CORKED.delete(client);
    stream.uncork!();
  });
}
