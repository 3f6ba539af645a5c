/**
 * Whether each account's agent is connected, as the running server last said
 * (README "Running it for real": `twinbox-server account list`). The server
 * writes a row when an agent connects or leaves and vouches for the
 * connected ones every `PRESENCE_HEARTBEAT_MS`; a command run beside it reads
 * the rows. A row the server stopped vouching for (it was killed) says
 * "unknown", never "connected".
 */
import type { Db } from './db.js';

export const PRESENCE_HEARTBEAT_MS = 30_000;
/** Three missed heartbeats: the server is gone. */
const STALE_MS = 3 * PRESENCE_HEARTBEAT_MS;

export type Presence =
  | { state: 'connected'; since: number }
  | { state: 'not connected'; since: number | null }
  | { state: 'unknown'; lastSeen: number };

export class AgentPresence {
  constructor(private readonly db: Db) {}

  record(accountId: string, connected: boolean, now = Date.now()): void {
    this.db
      .prepare(
        `INSERT INTO agent_presence (account_id, connected, since, seen_at) VALUES (?, ?, ?, ?)
         ON CONFLICT(account_id) DO UPDATE SET since = CASE WHEN connected = excluded.connected THEN since ELSE excluded.since END,
           connected = excluded.connected, seen_at = excluded.seen_at`,
      )
      .run(accountId, connected ? 1 : 0, now, now);
  }

  /** The running server still sees every agent it recorded as connected. */
  heartbeat(now = Date.now()): void {
    this.db.prepare('UPDATE agent_presence SET seen_at = ? WHERE connected = 1').run(now);
  }

  /** The server starts or stops: no agent is connected to it. */
  allGone(now = Date.now()): void {
    this.db.prepare('UPDATE agent_presence SET connected = 0, since = ?, seen_at = ? WHERE connected = 1').run(now, now);
  }

  get(accountId: string, now = Date.now()): Presence {
    const row = this.db.prepare('SELECT connected, since, seen_at FROM agent_presence WHERE account_id = ?').get(accountId) as { connected: number; since: number; seen_at: number } | undefined;
    if (!row) return { state: 'not connected', since: null };
    if (row.connected === 0) return { state: 'not connected', since: row.since };
    return now - row.seen_at <= STALE_MS ? { state: 'connected', since: row.since } : { state: 'unknown', lastSeen: row.seen_at };
  }
}
