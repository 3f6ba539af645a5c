/**
 * Whether each account's agent is connected, as the running server last said
 * (README "Running it for real": `twinbox-server account list`). The server
 * writes a row when an agent connects or leaves and vouches for the
 * connected ones every `PRESENCE_HEARTBEAT_MS`; a command run beside it reads
 * the rows. A row the server stopped vouching for (it was killed) says
 * "unknown", never "connected".
 */
import type { SqlEngine } from './engine.js';

export const PRESENCE_HEARTBEAT_MS = 30_000;
/** Three missed heartbeats: the server is gone. */
const STALE_MS = 3 * PRESENCE_HEARTBEAT_MS;

export type Presence =
  /** `node`: the node the agent is connected to (null in a row written before nodes). */
  | { state: 'connected'; since: number; node: string | null }
  | { state: 'not connected'; since: number | null }
  | { state: 'unknown'; lastSeen: number };

export class AgentPresence {
  /**
   * This node's name (config `cluster.nodeName`, set by the running server): on several nodes, each writes the
   * rows of the agents connected to it, and one agent leaving a node does not undo its connection to another.
   */
  node = '';

  constructor(private readonly db: SqlEngine) {}

  async record(accountId: string, connected: boolean, now = Date.now()): Promise<void> {
    if (connected) {
      await this.db.run(
        `INSERT INTO agent_presence (account_id, connected, since, seen_at, node) VALUES (?, 1, ?, ?, ?)
         ON CONFLICT(account_id) DO UPDATE SET since = CASE WHEN agent_presence.connected = 1 THEN agent_presence.since ELSE excluded.since END,
           connected = 1, seen_at = excluded.seen_at, node = excluded.node`,
        [accountId, now, now, this.node],
      );
      return;
    }
    // Gone from this node: the row says so unless it says the agent is (now) on another node.
    await this.db.run(
      `INSERT INTO agent_presence (account_id, connected, since, seen_at, node) VALUES (?, 0, ?, ?, ?)
       ON CONFLICT(account_id) DO UPDATE SET since = CASE WHEN agent_presence.connected = 0 THEN agent_presence.since ELSE excluded.since END,
         connected = 0, seen_at = excluded.seen_at
       WHERE agent_presence.connected = 0 OR agent_presence.node IS NULL OR agent_presence.node = excluded.node`,
      [accountId, now, now, this.node],
    );
  }

  /** The running server still sees every agent it recorded as connected. */
  async heartbeat(now = Date.now()): Promise<void> {
    await this.db.run('UPDATE agent_presence SET seen_at = ? WHERE connected = 1 AND (node IS NULL OR node = ?)', [now, this.node]);
  }

  /** This node starts or stops: no agent is connected to it. */
  async allGone(now = Date.now()): Promise<void> {
    await this.db.run('UPDATE agent_presence SET connected = 0, since = ?, seen_at = ? WHERE connected = 1 AND (node IS NULL OR node = ?)', [now, now, this.node]);
  }

  async get(accountId: string, now = Date.now()): Promise<Presence> {
    const row = await this.db.get<{ connected: number; since: number; seen_at: number; node: string | null }>(
      'SELECT connected, since, seen_at, node FROM agent_presence WHERE account_id = ?',
      [accountId],
    );
    if (!row) return { state: 'not connected', since: null };
    if (row.connected === 0) return { state: 'not connected', since: row.since };
    return now - row.seen_at <= STALE_MS ? { state: 'connected', since: row.since, node: row.node } : { state: 'unknown', lastSeen: row.seen_at };
  }

  /** Where the other nodes reach this one (config `cluster.internalUrl`): written at start and with each heartbeat. */
  async announce(url: string, now = Date.now()): Promise<void> {
    await this.db.run(
      'INSERT INTO cluster_nodes (name, url, seen_at) VALUES (?, ?, ?) ON CONFLICT (name) DO UPDATE SET url = excluded.url, seen_at = excluded.seen_at',
      [this.node, url, now],
    );
  }

  /** A live node under this node's name reached at another address than `url` (its row is not this node's own from an earlier run). */
  async otherNodeNamedSo(url: string, now = Date.now()): Promise<{ url: string; agoMs: number; freeInMs: number } | undefined> {
    const row = await this.db.get<{ url: string; seen_at: number }>('SELECT url, seen_at FROM cluster_nodes WHERE name = ?', [this.node]);
    if (!row || row.url === url || now - row.seen_at > STALE_MS) return undefined;
    return { url: row.url, agoMs: now - row.seen_at, freeInMs: STALE_MS - (now - row.seen_at) };
  }

  /** Where a live node is reached; undefined for a node that stopped vouching for itself (gone, or never announced). */
  async nodeUrl(name: string, now = Date.now()): Promise<string | undefined> {
    const row = await this.db.get<{ url: string; seen_at: number }>('SELECT url, seen_at FROM cluster_nodes WHERE name = ?', [name]);
    return row && now - row.seen_at <= STALE_MS ? row.url : undefined;
  }
}
