/**
 * The agent's SQLite database: WAL, full fsync on commit (an action is on disk
 * before it is sent), migrations by `PRAGMA user_version`.
 *
 * - meta: agent id, pairing epoch, last sync number, IMAP folder state
 *   (UIDVALIDITY, HIGHESTMODSEQ, UIDNEXT) as of the last change detection.
 * - inbox_state: the desktop INBOX as of the last detection (patent FIG. 2B,
 *   214): enough to order it and to find changes without QRESYNC.
 * - mapping: phone ID ↔ desktop (folder role, UID) (FIG. 2B, 212), with the
 *   flag values both sides agreed on, the base of the flag merge (docs/spec.md §6).
 * - actions: desktop changes waiting for the server's acknowledgement (215).
 * - applied_server_actions: server sequence numbers already applied here.
 * - intents: an APPEND about to be made for a server action, so a retry after
 *   a crash finds the copy instead of appending a second one.
 * - sends: the journal of outgoing mail handed to the desktop SMTP server.
 * - imap_refusals: commands the IMAP server advertised and then refused, so
 *   the next sync takes the plain path at once (imap/fallbacks.ts).
 * - quarantine: actions that failed for reasons of their message, with their
 *   attempts and error; set aside after a few (docs/quarantine.md).
 */
import Database from 'better-sqlite3';
import { chmodSync, closeSync, existsSync, openSync } from 'node:fs';

export type Db = Database.Database;

const MIGRATIONS: readonly string[] = [
  `
  CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
  CREATE TABLE inbox_state (
    uid INTEGER PRIMARY KEY,
    date INTEGER NOT NULL,
    seen INTEGER NOT NULL,
    flagged INTEGER NOT NULL,
    fingerprint TEXT NOT NULL,
    size INTEGER NOT NULL
  );
  CREATE INDEX inbox_state_by_fingerprint ON inbox_state(fingerprint);
  CREATE INDEX inbox_state_by_date ON inbox_state(date DESC, uid DESC);
  CREATE TABLE mapping (
    phone_id INTEGER PRIMARY KEY,
    folder TEXT NOT NULL CHECK (folder IN ('inbox', 'trash')),
    uid INTEGER NOT NULL,
    fingerprint TEXT NOT NULL,
    seen INTEGER NOT NULL,
    flagged INTEGER NOT NULL,
    UNIQUE (folder, uid)
  );
  CREATE TABLE actions (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    kind TEXT NOT NULL,
    phone_id INTEGER,
    uid INTEGER,
    payload TEXT
  );
  CREATE TABLE applied_server_actions (seq INTEGER PRIMARY KEY);
  CREATE TABLE intents (
    server_seq INTEGER PRIMARY KEY,
    fingerprint TEXT NOT NULL,
    min_uid INTEGER NOT NULL
  );
  `,
  // 2: the send journal (docs/spec.md §7). A delivery is `sending` from just before it
  // is handed to the desktop SMTP server until that server accepted it (`sent`).
  // A `sending` row found after a crash means "maybe sent": never sent again.
  `
  CREATE TABLE sends (
    server_seq INTEGER PRIMARY KEY,
    phone_id INTEGER NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('sending', 'sent')),
    fingerprint TEXT NOT NULL,
    sent_min_uid INTEGER NOT NULL
  );
  `,
  // 3: trigger nonces already used (docs/spec.md §8: a replayed trigger starts nothing), kept until they expire.
  `
  CREATE TABLE trigger_nonces (nonce TEXT PRIMARY KEY, expires INTEGER NOT NULL);
  `,
  // 4: INBOX messages the user marked \Deleted without expunging them: hidden from the phone window (issue 10).
  `
  ALTER TABLE inbox_state ADD COLUMN deleted INTEGER NOT NULL DEFAULT 0;
  `,
  // 5: commands the IMAP server advertised and refused (issue 18), per server, with what it advertised then:
  // the agent takes the plain path until the capabilities change (imap/fallbacks.ts).
  `
  CREATE TABLE imap_refusals (
    server TEXT NOT NULL,
    path TEXT NOT NULL,
    capabilities TEXT NOT NULL,
    command TEXT NOT NULL,
    response TEXT NOT NULL,
    at INTEGER NOT NULL,
    PRIMARY KEY (server, path)
  );
  `,
  // 6: identity by content digest everywhere (issue 18): each mapping keeps the digest of the message it maps
  // (NULL in rows from before: filled in by the next sync, backfill-digests.ts). And the quarantine: an action
  // that keeps failing for reasons of its message is set aside, so one bad message never blocks an account.
  // `direction` 'toPhone': an agent action the server could not apply (keyed by desktop UID); 'toDesktop': a
  // server action the desktop refused (keyed by phone ID). `held` 1 once set aside (0: still being retried).
  `
  ALTER TABLE mapping ADD COLUMN digest TEXT;
  CREATE TABLE quarantine (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    direction TEXT NOT NULL CHECK (direction IN ('toPhone', 'toDesktop')),
    kind TEXT NOT NULL,
    phone_id INTEGER,
    uid INTEGER,
    attempts INTEGER NOT NULL,
    error TEXT NOT NULL,
    first_at INTEGER NOT NULL,
    last_at INTEGER NOT NULL,
    held INTEGER NOT NULL DEFAULT 0
  );
  CREATE UNIQUE INDEX quarantine_key ON quarantine(direction, kind, COALESCE(phone_id, -1), COALESCE(uid, -1));
  `,
  // 7: a trigger nonce is recorded before its e-mail is expunged, and that expunge may wait for the sync's own
  // (one expunge at a time, imap/expunge.ts). Until it is done (`removed` 0) the trigger is still the watcher's:
  // the sync must not take it for a replay and copy it to the phone. Rows from before were all removed.
  `
  ALTER TABLE trigger_nonces ADD COLUMN removed INTEGER NOT NULL DEFAULT 1;
  `,
];

export function openDatabase(path: string): Db {
  // Readable by its owner only (it holds trigger secrets, token hashes, mail): created 0600 so that SQLite
  // makes its -wal and -shm files alike; an older, looser file is tightened (issue 9.8).
  const onDisk = path !== ':memory:' && path !== '';
  if (onDisk) closeSync(openSync(path, 'a', 0o600));
  const db = new Database(path);
  if (onDisk) for (const file of [path, `${path}-wal`, `${path}-shm`]) if (existsSync(file)) chmodSync(file, 0o600);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = FULL');
  db.pragma('busy_timeout = 10000');
  const current = db.pragma('user_version', { simple: true }) as number;
  if (current > MIGRATIONS.length) throw new Error(`agent database ${path} is newer than this agent; upgrade Twinbox`);
  for (let version = current; version < MIGRATIONS.length; version++) {
    db.transaction(() => {
      db.exec(MIGRATIONS[version]!);
      db.pragma(`user_version = ${version + 1}`);
    }).immediate();
  }
  return db;
}
