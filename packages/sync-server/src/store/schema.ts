/**
 * Server schema, one entry per version (applied in order, never edited once
 * released: add a new entry instead).
 *
 * - accounts: one per user, with the phone window W and its options.
 * - messages: the phone mailbox. `id` is the phone message ID: AUTOINCREMENT
 *   so an ID is never reused (docs/spec.md §3). `agreed_*` hold the flag state both
 *   sides agreed on at the last sync, the base of the flag merge (docs/spec.md §6).
 * - server_actions: the phone's action list, written in the same transaction
 *   as the change it records (docs/spec.md §5).
 * - applied_agent_actions: agent action sequence numbers already applied and
 *   their result, so a resent action is answered, not re-applied (docs/spec.md §10).
 * - sync_state / sync_log: the pairing epoch, completed syncs and counters.
 * - device_sessions / signin_codes: the web app's sign-in (issue 12).
 * - api_requests: phone requests that carried an Idempotency-Key: claimed (running) or answered.
 * - trigger_mails: when each account's last trigger e-mail went out ("sync now" at most once a minute).
 * - quarantine: phone changes the desktop kept refusing, set aside with the
 *   error (docs/quarantine.md).
 * - push_subscriptions: where a device's browser gets Web Push notifications (issue 20).
 * - agent_presence: whether each account's agent is connected, as the running
 *   server last said (agent-presence.ts).
 * - reach_cache / reach_cache_chunks: what the phone read of desktop messages
 *   beyond its window (docs/reach.md), per account under a size cap, least
 *   recently used first out (reach-cache.ts).
 * - messages.held_parts: a window message held as a preview (docs/reach.md
 *   "Preview first"): the parts left out, fetched from the desktop on demand.
 * - sync_leases: the session that runs each account's sync, across server
 *   nodes (sync-leases.ts; docs/scaling.md).
 * - cluster_nodes: where each server node is reached by the others
 *   (agent-presence.ts; docs/scaling.md); cluster_jobs: deployment-wide work
 *   one node at a time (sync-leases.ts, housekeeping.ts); login_failures:
 *   failed logins counted across nodes (rate-limit.ts).
 *
 * PostgreSQL's schema (schema-postgres.ts) starts at version 15 in one step;
 * every step from 16 on is added to both files.
 */
import { LIMITS, contentDigestOfRaw, imapSafe, standInDigest, type Logger } from '@twinbox/protocol';
import { deriveListFields } from '../mail/list-fields.js';
import type { Db } from './db.js';

/** A migration: SQL, or a function for a step SQL cannot do (computing digests); `log` hears what an operator should know. */
export type Migration = string | ((db: Db, log?: Logger) => void);

export const MIGRATIONS: readonly Migration[] = [
  `
  CREATE TABLE accounts (
    id TEXT PRIMARY KEY,
    desktop_address TEXT NOT NULL,
    phone_address TEXT NOT NULL,
    window INTEGER NOT NULL CHECK (window > 0),
    unread_first INTEGER NOT NULL DEFAULT 0,
    conflict_policy TEXT NOT NULL DEFAULT 'desktop' CHECK (conflict_policy IN ('desktop', 'phone')),
    token_hash TEXT NOT NULL,
    trigger_secret TEXT NOT NULL,
    created_at INTEGER NOT NULL
  );
  CREATE TABLE messages (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    account_id TEXT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    folder TEXT NOT NULL CHECK (folder IN ('inbox', 'trash', 'sent', 'outbox')),
    date INTEGER NOT NULL,
    tiebreak INTEGER,
    seen INTEGER NOT NULL,
    flagged INTEGER NOT NULL,
    agreed_seen INTEGER NOT NULL,
    agreed_flagged INTEGER NOT NULL,
    fingerprint TEXT NOT NULL,
    subject TEXT NOT NULL DEFAULT '',
    from_addr TEXT NOT NULL DEFAULT '',
    size INTEGER NOT NULL,
    raw BLOB NOT NULL
  );
  CREATE INDEX messages_by_folder ON messages(account_id, folder, date);
  CREATE INDEX messages_by_fingerprint ON messages(account_id, fingerprint);
  CREATE TABLE server_actions (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    account_id TEXT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    kind TEXT NOT NULL,
    phone_id INTEGER NOT NULL,
    created_at INTEGER NOT NULL
  );
  CREATE INDEX server_actions_by_account ON server_actions(account_id, seq);
  CREATE TABLE applied_agent_actions (
    account_id TEXT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    seq INTEGER NOT NULL,
    result TEXT NOT NULL,
    phone_id INTEGER,
    PRIMARY KEY (account_id, seq)
  ) WITHOUT ROWID;
  CREATE TABLE sync_state (
    account_id TEXT PRIMARY KEY REFERENCES accounts(id) ON DELETE CASCADE,
    agent_id TEXT,
    sync_epoch TEXT,
    last_sync_no INTEGER NOT NULL DEFAULT 0,
    last_sync_at INTEGER,
    last_stats TEXT
  );
  CREATE TABLE sync_log (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    account_id TEXT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    sync_no INTEGER NOT NULL,
    finished_at INTEGER NOT NULL,
    stats TEXT NOT NULL
  );
  `,
  // 2: outgoing mail (docs/spec.md §7). An Outbox message is `queued` until the desktop
  // (via sync) or the relay (direct) has sent it, or `failed` with the SMTP error.
  `
  ALTER TABLE messages ADD COLUMN envelope TEXT;
  ALTER TABLE messages ADD COLUMN send_via TEXT CHECK (send_via IN ('sync', 'direct'));
  ALTER TABLE messages ADD COLUMN send_status TEXT CHECK (send_status IN ('queued', 'failed'));
  ALTER TABLE messages ADD COLUMN send_error TEXT;
  `,
  // 3: phone devices, each with its own API token (stored as a SHA-256 hash).
  `
  CREATE TABLE devices (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    account_id TEXT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    token_hash TEXT NOT NULL UNIQUE,
    created_at INTEGER NOT NULL
  );
  `,
  // 4: identity scheme 2 (issue 9.1, protocol identity.ts). Every phone message gets its content digest
  // (a stand-in: its original's size, recorded in `size`, which only a stand-in has above the frame limit).
  // A destroy action keeps what it destroyed (folder, fingerprint, digest), so an agent that starts over
  // can still apply it. `initial_through_seq`: the last phone action an initial sync has taken into account.
  `
  ALTER TABLE messages ADD COLUMN content_digest TEXT;
  ALTER TABLE server_actions ADD COLUMN folder TEXT;
  ALTER TABLE server_actions ADD COLUMN fingerprint TEXT;
  ALTER TABLE server_actions ADD COLUMN digest TEXT;
  ALTER TABLE sync_state ADD COLUMN initial_through_seq INTEGER;
  `,
  (db) => {
    const update = db.prepare('UPDATE messages SET content_digest = ? WHERE id = ?');
    const rows = db.prepare('SELECT id, size, raw FROM messages WHERE content_digest IS NULL').iterate() as Iterable<{ id: number; size: number; raw: Buffer }>;
    const digests: [string, number][] = [];
    for (const row of rows) digests.push([row.size > LIMITS.maxMessageBytes ? standInDigest(row.size) : contentDigestOfRaw(row.raw), row.id]);
    for (const [digest, id] of digests) update.run(digest, id);
  },
  // 6: the phone web app (issue 12). A sign-in code (one use, minutes) becomes a device session held in an
  // HttpOnly cookie; both are stored as SHA-256 hashes. Revoking a device deletes its sessions with it.
  // api_requests: the answer to a request sent with an Idempotency-Key, so an action queued offline and
  // sent twice (the first answer lost) happens once.
  `
  ALTER TABLE devices ADD COLUMN last_seen_at INTEGER;
  CREATE TABLE signin_codes (
    code_hash TEXT PRIMARY KEY,
    device_id INTEGER NOT NULL REFERENCES devices(id) ON DELETE CASCADE,
    expires_at INTEGER NOT NULL
  ) WITHOUT ROWID;
  CREATE TABLE device_sessions (
    session_hash TEXT PRIMARY KEY,
    device_id INTEGER NOT NULL REFERENCES devices(id) ON DELETE CASCADE,
    created_at INTEGER NOT NULL
  ) WITHOUT ROWID;
  CREATE INDEX device_sessions_by_device ON device_sessions(device_id);
  CREATE TABLE api_requests (
    account_id TEXT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    key TEXT NOT NULL,
    status INTEGER NOT NULL,
    body TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (account_id, key)
  ) WITHOUT ROWID;
  ALTER TABLE messages ADD COLUMN preview TEXT NOT NULL DEFAULT '';
  `,
  (db) => {
    const update = db.prepare('UPDATE messages SET preview = ? WHERE id = ?');
    const previews: [string, number][] = [];
    // The preview as mail/list-fields.ts derives it now (the first derivation was quadratic on hostile HTML: issue 18).
    for (const row of db.prepare('SELECT id, raw FROM messages').iterate() as Iterable<{ id: number; raw: Buffer }>) previews.push([deriveListFields(row.raw).preview, row.id]);
    for (const [preview, id] of previews) update.run(preview, id);
  },
  // 8: retention (issue 13): when a message came into its folder, so that Trash keeps a message N days after
  // it was trashed (not N days after it was written). What is there now counts from now: an upgrade removes nothing.
  (db) => {
    db.exec('ALTER TABLE messages ADD COLUMN folder_since INTEGER');
    db.prepare('UPDATE messages SET folder_since = ?').run(Date.now());
  },
  // 9: requests done once, for real (issue 18.9, 18.10). An Idempotency-Key is claimed (a `running` row) before
  // the request's work starts and answered (`done`) after; `request` is the method and path it was claimed for.
  // trigger_mails: the last trigger e-mail per account, so "sync now" by e-mail is sent at most once per interval
  // by every server process on this database (IF NOT EXISTS: a test that rebuilds an old schema may leave it).
  `
  ALTER TABLE api_requests ADD COLUMN state TEXT NOT NULL DEFAULT 'done' CHECK (state IN ('running', 'done'));
  ALTER TABLE api_requests ADD COLUMN request TEXT NOT NULL DEFAULT '';
  CREATE TABLE IF NOT EXISTS trigger_mails (
    account_id TEXT PRIMARY KEY REFERENCES accounts(id) ON DELETE CASCADE,
    sent_at INTEGER NOT NULL
  ) WITHOUT ROWID;
  `,
  // 10: identity scheme 3 (issue 18; protocol identity.ts): every message IMAP-safe (a part with NUL bytes as
  // base64, imap-safe.ts) and its content digest recomputed (c2: the MIME fields too). Stand-ins keep theirs.
  // Mappings are unaffected (they are phone IDs); a destroy recorded before keeps its c1 digest, which the
  // agent checks in its own scheme. And the quarantine of phone changes the desktop keeps refusing.
  (db) => {
    const update = db.prepare('UPDATE messages SET raw = ?, size = ?, content_digest = ? WHERE id = ?');
    const rows = db.prepare("SELECT id, raw, content_digest AS digest FROM messages WHERE content_digest NOT LIKE 'standin:%'").iterate() as Iterable<{ id: number; raw: Buffer; digest: string }>;
    const changes: [Buffer | null, string, number][] = [];
    for (const row of rows) {
      const safe = imapSafe(row.raw);
      changes.push([safe === row.raw ? null : safe, contentDigestOfRaw(safe), row.id]);
    }
    const digestOnly = db.prepare('UPDATE messages SET content_digest = ? WHERE id = ?');
    for (const [safe, digest, id] of changes) {
      if (safe) update.run(safe, safe.length, digest, id);
      else digestOnly.run(digest, id);
    }
    db.exec(`
      CREATE TABLE quarantine (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        account_id TEXT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
        phone_id INTEGER NOT NULL,
        kind TEXT NOT NULL,
        folder TEXT,
        fingerprint TEXT,
        digest TEXT,
        error TEXT NOT NULL,
        at INTEGER NOT NULL
      );
      CREATE INDEX quarantine_by_account ON quarantine(account_id, id);
    `);
  },
  // 11: the lists show Subject and From decoded as a mail app shows them (issue 18: RFC 2047, RFC 6532), and a preview
  // derived in linear time: every stored message's list fields are derived again from its bytes (mail/list-fields.ts).
  (db, log) => {
    const update = db.prepare('UPDATE messages SET subject = ?, from_addr = ?, preview = ? WHERE id = ?');
    const rows: [string, string, string, number][] = [];
    let plain = 0;
    for (const row of db.prepare('SELECT id, raw FROM messages').iterate() as Iterable<{ id: number; raw: Buffer }>) {
      const listed = deriveListFields(row.raw);
      if (listed.problems.length > 0) plain++;
      rows.push([listed.subject, listed.from, listed.preview, row.id]);
    }
    for (const row of rows) update.run(...row);
    if (plain > 0) log?.warn('messages kept plain list fields after the upgrade', { messages: plain });
  },
  // 12: Web Push (issue 20). A browser's push subscription, registered with its device session (a program's, with
  // its device token: no session), so that signing out or revoking the device removes it (ON DELETE CASCADE).
  // `server_key`: the VAPID public key it was made for (a subscription is bound to one). `show`: what its
  // notifications show. `pending`/`newest`: new mail since the browser last looked, and the newest of it.
  `
  CREATE TABLE push_subscriptions (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    account_id TEXT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    device_id INTEGER NOT NULL REFERENCES devices(id) ON DELETE CASCADE,
    session_hash TEXT REFERENCES device_sessions(session_hash) ON DELETE CASCADE,
    endpoint TEXT NOT NULL UNIQUE,
    p256dh TEXT NOT NULL,
    auth TEXT NOT NULL,
    server_key TEXT NOT NULL,
    show TEXT NOT NULL CHECK (show IN ('sender', 'count')),
    pending INTEGER NOT NULL DEFAULT 0,
    newest INTEGER,
    created_at INTEGER NOT NULL,
    last_sent_at INTEGER,
    last_error TEXT
  );
  CREATE INDEX push_subscriptions_by_account ON push_subscriptions(account_id);
  CREATE INDEX push_subscriptions_by_device ON push_subscriptions(device_id, session_hash);
  CREATE INDEX push_subscriptions_by_session ON push_subscriptions(session_hash);
  `,
  // 13: whether each account's agent is connected, written by the running server for `account list` (agent-presence.ts).
  `
  CREATE TABLE agent_presence (
    account_id TEXT PRIMARY KEY REFERENCES accounts(id) ON DELETE CASCADE,
    connected INTEGER NOT NULL,
    since INTEGER NOT NULL,
    seen_at INTEGER NOT NULL
  ) WITHOUT ROWID;
  `,
  // 14: the reach cache (docs/reach.md, reach-cache.ts). An entry is a message's structure and text (JSON in `meta`)
  // or a part (its description in `meta`, its bytes in chunks of 256 KiB); `complete` once every chunk is in;
  // `used_at` orders eviction.
  `
  CREATE TABLE reach_cache (
    account_id TEXT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    key TEXT NOT NULL,
    meta TEXT NOT NULL,
    bytes INTEGER NOT NULL,
    complete INTEGER NOT NULL,
    used_at INTEGER NOT NULL,
    PRIMARY KEY (account_id, key)
  ) WITHOUT ROWID;
  CREATE INDEX reach_cache_by_use ON reach_cache(account_id, used_at);
  CREATE TABLE reach_cache_chunks (
    account_id TEXT NOT NULL,
    key TEXT NOT NULL,
    seq INTEGER NOT NULL,
    data BLOB NOT NULL,
    PRIMARY KEY (account_id, key, seq),
    FOREIGN KEY (account_id, key) REFERENCES reach_cache(account_id, key) ON DELETE CASCADE
  ) WITHOUT ROWID;
  `,
  // 15: preview first (issue 21, docs/reach.md). A window message above `reach.previewAboveBytes` is stored
  // without its large parts: `held_parts` lists them (JSON [{ partId, size }], the IMAP sections the agent
  // fetches on demand); NULL for a message held whole — every message stored before, and all phone mail.
  // Its fingerprint, content digest and size are the whole message's (docs/identity.md).
  `
  ALTER TABLE messages ADD COLUMN held_parts TEXT;
  `,
  // 16: several server nodes on one database (docs/scaling.md). sync_leases: which session runs an account's sync
  // (one at a time across all nodes), until `expires_at` (the database's clock, ms) unless renewed.
  // agent_presence.node: the node the agent is connected to (NULL: written before nodes, by the one server).
  // Written for both engines from here on (schema-postgres.ts has the same step).
  `
  CREATE TABLE sync_leases (
    account_id TEXT PRIMARY KEY REFERENCES accounts(id) ON DELETE CASCADE,
    holder TEXT NOT NULL,
    expires_at INTEGER NOT NULL
  );
  ALTER TABLE agent_presence ADD COLUMN node TEXT;
  `,
  // 17: where each node is reached by the others (docs/scaling.md, "Requests that need the agent"): a phone
  // request that needs an agent connected to another node is passed to that node at `url`. `seen_at` (ms):
  // the node's last heartbeat. cluster_jobs: work of the whole deployment one node does at a time
  // (housekeeping), leases as in sync_leases. login_failures: failed logins of several nodes, counted
  // together (rate-limit.ts; used on PostgreSQL, where there can be several nodes).
  `
  CREATE TABLE cluster_nodes (
    name TEXT PRIMARY KEY,
    url TEXT NOT NULL,
    seen_at INTEGER NOT NULL
  );
  CREATE TABLE cluster_jobs (
    name TEXT PRIMARY KEY,
    holder TEXT NOT NULL,
    expires_at INTEGER NOT NULL
  );
  CREATE TABLE login_failures (
    scope_key TEXT NOT NULL,
    at INTEGER NOT NULL
  );
  CREATE INDEX login_failures_by_key ON login_failures(scope_key, at);
  CREATE INDEX login_failures_by_time ON login_failures(at);
  `,
];
