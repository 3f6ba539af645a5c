/**
 * What the phone read of desktop messages beyond its window (docs/reach.md
 * "The cache"), per account, under a size cap, least recently used first out.
 *
 * An entry is found by a key the caller makes (a message's structure and
 * text, or one of its parts) and holds a description (`meta`, JSON) and, for a
 * part, its bytes in chunks as they streamed from the agent: a part is
 * written chunk by chunk while the phone downloads it, never held whole in
 * memory, and is served only once every chunk is in (`complete`); its bytes
 * count against the cap as they come, so downloads broken off (dropped at
 * once) or many at a time cannot hold more than the cap. An entry larger
 * than the cap is not kept.
 */
import type { SqlEngine } from './engine.js';

export class ReachCache {
  private last = 0;

  constructor(private readonly db: SqlEngine) {}

  /** When an entry was used: the clock, but strictly rising, so that two uses in one millisecond keep their order. */
  private tick(): number {
    this.last = Math.max(Date.now(), this.last + 1);
    return this.last;
  }

  /** A complete entry's description (and it is used now: it moves to the back of the eviction line). */
  async get<T>(accountId: string, key: string): Promise<{ meta: T; bytes: number } | undefined> {
    const row = await this.db.get<{ meta: string; bytes: number }>('SELECT meta, bytes FROM reach_cache WHERE account_id = ? AND key = ? AND complete = 1', [accountId, key]);
    if (!row) return undefined;
    await this.db.run('UPDATE reach_cache SET used_at = ? WHERE account_id = ? AND key = ?', [this.tick(), accountId, key]);
    return { meta: JSON.parse(row.meta) as T, bytes: row.bytes };
  }

  /** A complete entry's chunks, in order, one at a time. */
  async *chunks(accountId: string, key: string): AsyncGenerator<Buffer> {
    for (let seq = 0; ; seq++) {
      const row = await this.db.get<{ data: Buffer }>('SELECT data FROM reach_cache_chunks WHERE account_id = ? AND key = ? AND seq = ?', [accountId, key, seq]);
      if (!row) return;
      yield row.data;
    }
  }

  /** Keep a description alone (a message's structure and text), replacing what was there. */
  async put(accountId: string, key: string, meta: unknown, capBytes: number): Promise<void> {
    const json = JSON.stringify(meta);
    const bytes = Buffer.byteLength(json);
    await this.db.transaction(async () => {
      await this.remove(accountId, key);
      if (bytes > capBytes) return;
      await this.db.run('INSERT INTO reach_cache (account_id, key, meta, bytes, complete, used_at) VALUES (?, ?, ?, ?, 1, ?)', [accountId, key, json, bytes, this.tick()]);
      await this.evict(accountId, capBytes, key);
    }, { scope: accountId });
  }

  /**
   * Start keeping a part as it streams; returns the writer, or undefined when
   * it would not fit under the cap anyway.
   */
  async begin(accountId: string, key: string, meta: unknown, expectedBytes: number, capBytes: number): Promise<PartWriter | undefined> {
    if (expectedBytes > capBytes) return undefined;
    await this.db.transaction(async () => {
      await this.remove(accountId, key);
      await this.db.run('INSERT INTO reach_cache (account_id, key, meta, bytes, complete, used_at) VALUES (?, ?, ?, 0, 0, ?)', [accountId, key, JSON.stringify(meta), this.tick()]);
    }, { scope: accountId });
    let seq = 0;
    let bytes = 0;
    let open = true;
    const abandon = async () => {
      if (!open) return;
      open = false;
      await this.remove(accountId, key);
    };
    return {
      write: async (chunk) => {
        if (!open) return;
        bytes += chunk.length;
        if (bytes > capBytes) return abandon();
        const n = seq++;
        await this.db.transaction(async () => {
          await this.db.run('INSERT INTO reach_cache_chunks (account_id, key, seq, data) VALUES (?, ?, ?, ?)', [accountId, key, n, chunk]);
          // A part on its way counts against the cap as it grows: parts never finished cannot fill the disk.
          await this.db.run('UPDATE reach_cache SET bytes = ? WHERE account_id = ? AND key = ?', [bytes, accountId, key]);
        }, { scope: accountId });
        if ((await this.size(accountId)) <= capBytes) return;
        await this.evict(accountId, capBytes, key);
        // Still over: other parts on their way hold the room; this one is not kept.
        if ((await this.size(accountId)) > capBytes) await abandon();
      },
      finish: async () => {
        if (!open) return;
        open = false;
        await this.db.transaction(async () => {
          await this.db.run('UPDATE reach_cache SET bytes = ?, complete = 1, used_at = ? WHERE account_id = ? AND key = ?', [bytes, this.tick(), accountId, key]);
          await this.evict(accountId, capBytes, key);
        }, { scope: accountId });
      },
      abandon,
    };
  }

  /** Parts that never came whole (the server stopped while one streamed): dropped at start. */
  async dropIncomplete(): Promise<void> {
    await this.db.run('DELETE FROM reach_cache WHERE complete = 0');
  }

  async remove(accountId: string, key: string): Promise<void> {
    await this.db.run('DELETE FROM reach_cache WHERE account_id = ? AND key = ?', [accountId, key]);
  }

  /** Bytes an account's cache holds: complete entries, and the parts on their way so far. */
  async size(accountId: string): Promise<number> {
    return (await this.db.get<{ n: number }>('SELECT COALESCE(SUM(bytes), 0) AS n FROM reach_cache WHERE account_id = ?', [accountId]))!.n;
  }

  /** Least recently used first out, until the account is under its cap (`keep`: the entry just written). */
  private async evict(accountId: string, capBytes: number, keep: string): Promise<void> {
    let total = await this.size(accountId);
    if (total <= capBytes) return;
    const oldest = await this.db.all<{ key: string; bytes: number }>('SELECT key, bytes FROM reach_cache WHERE account_id = ? AND complete = 1 AND key != ? ORDER BY used_at, key', [
      accountId,
      keep,
    ]);
    const out: string[] = [];
    for (const row of oldest) {
      if (total <= capBytes) break;
      out.push(row.key);
      total -= row.bytes;
    }
    for (const key of out) await this.remove(accountId, key);
  }
}

export interface PartWriter {
  write(chunk: Buffer): Promise<void>;
  /** Every chunk is in: the entry counts, and older ones make room. */
  finish(): Promise<void>;
  /** The part did not come whole (cancelled, failed): nothing of it is kept. */
  abandon(): Promise<void>;
}
