/**
 * Moving a deployment from SQLite to PostgreSQL (`twinbox-server store
 * migrate --to postgres://…`, docs/scaling.md): every table the server keeps
 * — accounts, messages, pending actions, mapping state, devices, sessions,
 * stored answers, the quarantine, push subscriptions, the reach cache —
 * copied row by row with its ids, in one PostgreSQL transaction, and
 * verified before it commits: the same number of rows and the same digest
 * (of every row's SHA-256) of every table read back from both sides. Ids go on where SQLite's left off (its
 * AUTOINCREMENT never reuses one, nor does PostgreSQL after the copy).
 *
 * Safe to run again: into an empty database it copies; into one that
 * already holds exactly this data it says so and changes nothing; into one
 * that holds anything else it refuses (a deployment already running on it
 * must not lose what it has). A copy cut off midway leaves nothing (one
 * transaction). Not copied: sync leases and agent presence, which say what
 * the running servers hold now — there is none during the move.
 *
 * Rows travel in batches (messages by a few hundred, whatever their size),
 * so a large database is never in memory whole.
 */
import { createHash } from 'node:crypto';
import type { ServerStore } from './index.js';

/** Parents before children (foreign keys). */
export const COPIED_TABLES = [
  'accounts',
  'sync_state',
  'sync_log',
  'messages',
  'server_actions',
  'applied_agent_actions',
  'devices',
  'signin_codes',
  'device_sessions',
  'api_requests',
  'trigger_mails',
  'quarantine',
  'push_subscriptions',
  'reach_cache',
  'reach_cache_chunks',
] as const;

/** Each table's key, which orders its rows (and batches them); the identity column, where it has one. */
const KEYS: Record<(typeof COPIED_TABLES)[number], { key: string[]; identity?: string }> = {
  accounts: { key: ['id'] },
  sync_state: { key: ['account_id'] },
  sync_log: { key: ['id'], identity: 'id' },
  messages: { key: ['id'], identity: 'id' },
  server_actions: { key: ['seq'], identity: 'seq' },
  applied_agent_actions: { key: ['account_id', 'seq'] },
  devices: { key: ['id'], identity: 'id' },
  signin_codes: { key: ['code_hash'] },
  device_sessions: { key: ['session_hash'] },
  api_requests: { key: ['account_id', 'key'] },
  trigger_mails: { key: ['account_id'] },
  quarantine: { key: ['id'], identity: 'id' },
  push_subscriptions: { key: ['id'], identity: 'id' },
  reach_cache: { key: ['account_id', 'key'] },
  reach_cache_chunks: { key: ['account_id', 'key', 'seq'] },
};

const BATCH_ROWS = 200;
/** Rows with message bytes (up to the largest message the server takes) go a few at a time. */
const BLOB_TABLES = new Set(['messages', 'reach_cache_chunks']);
const BLOB_BATCH_ROWS = 8;

export interface TableReport {
  table: string;
  rows: number;
  digest: string;
}

export interface CopyReport {
  /** `copied` into an empty database, or `already` there (nothing changed). */
  outcome: 'copied' | 'already';
  tables: TableReport[];
}

type Row = Record<string, unknown>;

/** One value as both engines give it back, for the digest: bytes as hex, text as PostgreSQL keeps it (store/postgres-engine.ts). */
function canonical(value: unknown): string {
  if (value === null || value === undefined) return 'n';
  if (Buffer.isBuffer(value)) return `b${value.toString('hex')}`;
  if (typeof value === 'number' || typeof value === 'bigint') return `i${String(value)}`;
  return `s${String(value).replaceAll('\0', '\uFFFD')}`;
}

/** A table's rows in key order, a batch at a time: after the last key seen (one-column keys), else by offset (small tables, or few rows). */
async function* batches(store: ServerStore, table: string, columns: string[], key: string[]): AsyncGenerator<Row[]> {
  const size = BLOB_TABLES.has(table) ? BLOB_BATCH_ROWS : BATCH_ROWS;
  const order = key.join(', ');
  const select = `SELECT ${columns.join(', ')} FROM ${table}`;
  let after: unknown;
  for (let offset = 0; ; offset += size) {
    const rows =
      key.length === 1
        ? await store.engine.all<Row>(`${select} ${after === undefined ? '' : `WHERE ${key[0]} > ?`} ORDER BY ${order} LIMIT ?`, after === undefined ? [size] : [after, size])
        : await store.engine.all<Row>(`${select} ORDER BY ${order} LIMIT ? OFFSET ?`, [size, offset]);
    if (rows.length > 0) yield rows;
    if (rows.length < size) return;
    after = rows.at(-1)![key[0]!];
  }
}

async function columnsOf(source: ServerStore, table: string): Promise<string[]> {
  const rows = await source.engine.all<{ name: string }>(`SELECT name FROM pragma_table_info('${table}') ORDER BY cid`);
  // `window` is a keyword in PostgreSQL.
  return rows.map((r) => (r.name === 'window' ? '"window"' : r.name));
}

const MOD = 1n << 256n;

/**
 * A table's row count and digest: the sum (mod 2^256) of each row's SHA-256 — the same whatever order the
 * rows come in (PostgreSQL sorts text by its collation, SQLite by bytes), different if any row differs.
 */
async function tableReport(store: ServerStore, table: (typeof COPIED_TABLES)[number], columns: string[]): Promise<TableReport> {
  let sum = 0n;
  let rows = 0;
  for await (const batch of batches(store, table, columns, KEYS[table].key)) {
    for (const row of batch) {
      const digest = createHash('sha256').update(Object.values(row).map(canonical).join('\u0001')).digest('hex');
      sum = (sum + BigInt(`0x${digest}`)) % MOD;
      rows++;
    }
  }
  return { table, rows, digest: sum.toString(16).padStart(64, '0') };
}

/** Copy `source` (SQLite) into `target` (PostgreSQL, at this release's schema), and verify; see the module's comment. */
export async function copyStore(source: ServerStore, target: ServerStore, progress: (line: string) => void = () => undefined): Promise<CopyReport> {
  if (source.engine.dialect !== 'sqlite' || target.engine.dialect !== 'postgres') throw new Error('store migrate copies a SQLite database into PostgreSQL');
  const columns = new Map<string, string[]>();
  for (const table of COPIED_TABLES) columns.set(table, await columnsOf(source, table));
  const sourceReports: TableReport[] = [];
  for (const table of COPIED_TABLES) sourceReports.push(await tableReport(source, table, columns.get(table)!));

  const held = await Promise.all(COPIED_TABLES.map(async (t) => (await target.engine.get<{ n: number }>(`SELECT COUNT(*) AS n FROM ${t}`))!.n));
  if (held.some((n) => n > 0)) {
    const targetReports: TableReport[] = [];
    for (const table of COPIED_TABLES) targetReports.push(await tableReport(target, table, columns.get(table)!));
    const same = targetReports.every((r, i) => r.rows === sourceReports[i]!.rows && r.digest === sourceReports[i]!.digest);
    if (same) return { outcome: 'already', tables: sourceReports };
    const differing = targetReports.filter((r, i) => r.digest !== sourceReports[i]!.digest).map((r) => `${r.table} (${r.rows} rows there, ${sourceReports[targetReports.indexOf(r)]!.rows} here)`);
    throw new Error(`the PostgreSQL database already holds other data: ${differing.join(', ')}; store migrate copies into an empty database only`);
  }

  await target.transaction(async () => {
    for (const table of COPIED_TABLES) {
      const cols = columns.get(table)!;
      const placeholders = `(${cols.map(() => '?').join(', ')})`;
      let copied = 0;
      for await (const batch of batches(source, table, cols, KEYS[table].key)) {
        await target.engine.run(
          `INSERT INTO ${table} (${cols.join(', ')}) VALUES ${batch.map(() => placeholders).join(', ')}`,
          batch.flatMap((row) => Object.values(row)),
        );
        copied += batch.length;
      }
      const identity = KEYS[table].identity;
      if (identity) {
        // Where SQLite's AUTOINCREMENT left off (it may be past the highest id still there), PostgreSQL goes on.
        const used = await source.engine.get<{ seq: number }>('SELECT seq FROM sqlite_sequence WHERE name = ?', [table]);
        const max = (await target.engine.get<{ n: number }>(`SELECT COALESCE(MAX(${identity}), 0) AS n FROM ${table}`))!.n;
        const last = Math.max(used?.seq ?? 0, max);
        await target.engine.get(`SELECT setval(pg_get_serial_sequence('${table}', '${identity}'), ?, ?)`, [Math.max(last, 1), last > 0]);
      }
      progress(`${table}: ${copied} rows`);
    }
    // Verified before the commit: a copy that does not match is rolled back, and the database stays empty.
    const targetReports: TableReport[] = [];
    for (const table of COPIED_TABLES) targetReports.push(await tableReport(target, table, columns.get(table)!));
    const wrong = targetReports.filter((r, i) => r.rows !== sourceReports[i]!.rows || r.digest !== sourceReports[i]!.digest);
    if (wrong.length > 0) throw new Error(`verification failed, nothing copied: ${wrong.map((r) => r.table).join(', ')} differ`);
  }, { retry: false });
  return { outcome: 'copied', tables: sourceReports };
}
