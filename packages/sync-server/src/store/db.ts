/**
 * Opens the server's SQLite database: WAL, full fsync on commit (an action is
 * durable before the peer is told about it, docs/spec.md §10), foreign keys,
 * incremental auto-vacuum, and schema migrations by `PRAGMA user_version`.
 */
import type { Logger } from '@twinbox/protocol';
import Database from 'better-sqlite3';
import { chmodSync, closeSync, existsSync, openSync } from 'node:fs';
import { SCHEMA_VERSION } from './engine.js';
import { MIGRATIONS } from './schema.js';

export type Db = Database.Database;

export function openDatabase(path: string, log?: Logger): Db {
  // Readable by its owner only (it holds trigger secrets, token hashes, mail): created 0600 so that SQLite
  // makes its -wal and -shm files alike; an older, looser file is tightened (issue 9.8).
  const onDisk = path !== ':memory:' && path !== '';
  if (onDisk) closeSync(openSync(path, 'a', 0o600));
  const db = new Database(path);
  if (onDisk) for (const file of [path, `${path}-wal`, `${path}-shm`]) if (existsSync(file)) chmodSync(file, 0o600);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = FULL');
  db.pragma('foreign_keys = ON');
  // Several processes may share the file (the server, a CLI, a test driving the
  // phone API): wait for a writer rather than failing with SQLITE_BUSY.
  db.pragma('busy_timeout = 10000');
  keepCompact(db);
  migrate(db, log);
  return db;
}

/**
 * Space freed by deleted mail goes back to the file system (issue 13): the
 * database uses incremental auto-vacuum, and housekeeping releases free pages
 * (`PRAGMA incremental_vacuum`). A new database is made so before its first
 * table; an older one is rebuilt once, here (VACUUM).
 */
function keepCompact(db: Db): void {
  if ((db.pragma('auto_vacuum', { simple: true }) as number) === 2) return;
  db.pragma('auto_vacuum = INCREMENTAL');
  const tables = db.prepare("SELECT COUNT(*) AS n FROM sqlite_master WHERE type = 'table'").get() as { n: number };
  if (tables.n > 0) db.exec('VACUUM');
}

/** Give the pages that deleted rows left free back to the file system. */
export function releaseFreePages(db: Db): number {
  const free = db.pragma('freelist_count', { simple: true }) as number;
  if (free > 0) db.pragma('incremental_vacuum');
  return free;
}

function migrate(db: Db, log: Logger | undefined): void {
  // Both engines' schemas move together (schema-postgres.ts): a step added to one file only is caught here.
  if (MIGRATIONS.length !== SCHEMA_VERSION) throw new Error(`SQLite has ${MIGRATIONS.length} schema steps, the store expects version ${SCHEMA_VERSION}`);
  const current = db.pragma('user_version', { simple: true }) as number;
  if (current > MIGRATIONS.length) {
    throw new Error(`database schema version ${current} is newer than this server (${MIGRATIONS.length}); upgrade Twinbox`);
  }
  for (let version = current; version < MIGRATIONS.length; version++) {
    db.transaction(() => {
      const step = MIGRATIONS[version]!;
      if (typeof step === 'string') db.exec(step);
      else step(db, log);
      db.pragma(`user_version = ${version + 1}`);
    }).immediate();
  }
}
