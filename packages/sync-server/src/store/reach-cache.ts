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
import type { Db } from './db.js';

export class ReachCache {
  private last = 0;

  constructor(private readonly db: Db) {}

  /** When an entry was used: the clock, but strictly rising, so that two uses in one millisecond keep their order. */
  private tick(): number {
    this.last = Math.max(Date.now(), this.last + 1);
    return this.last;
  }

  /** A complete entry's description (and it is used now: it moves to the back of the eviction line). */
  get<T>(accountId: string, key: string): { meta: T; bytes: number } | undefined {
    const row = this.db.prepare('SELECT meta, bytes FROM reach_cache WHERE account_id = ? AND key = ? AND complete = 1').get(accountId, key) as
      | { meta: string; bytes: number }
      | undefined;
    if (!row) return undefined;
    this.db.prepare('UPDATE reach_cache SET used_at = ? WHERE account_id = ? AND key = ?').run(this.tick(), accountId, key);
    return { meta: JSON.parse(row.meta) as T, bytes: row.bytes };
  }

  /** A complete entry's chunks, in order, one at a time. */
  *chunks(accountId: string, key: string): Generator<Buffer> {
    const read = this.db.prepare('SELECT data FROM reach_cache_chunks WHERE account_id = ? AND key = ? AND seq = ?');
    for (let seq = 0; ; seq++) {
      const row = read.get(accountId, key, seq) as { data: Buffer } | undefined;
      if (!row) return;
      yield row.data;
    }
  }

  /** Keep a description alone (a message's structure and text), replacing what was there. */
  put(accountId: string, key: string, meta: unknown, capBytes: number): void {
    const json = JSON.stringify(meta);
    const bytes = Buffer.byteLength(json);
    this.db.transaction(() => {
      this.remove(accountId, key);
      if (bytes > capBytes) return;
      this.db.prepare('INSERT INTO reach_cache (account_id, key, meta, bytes, complete, used_at) VALUES (?, ?, ?, ?, 1, ?)').run(accountId, key, json, bytes, this.tick());
      this.evict(accountId, capBytes, key);
    })();
  }

  /**
   * Start keeping a part as it streams; returns the writer, or undefined when
   * it would not fit under the cap anyway.
   */
  begin(accountId: string, key: string, meta: unknown, expectedBytes: number, capBytes: number): PartWriter | undefined {
    if (expectedBytes > capBytes) return undefined;
    this.db.transaction(() => {
      this.remove(accountId, key);
      this.db.prepare('INSERT INTO reach_cache (account_id, key, meta, bytes, complete, used_at) VALUES (?, ?, ?, 0, 0, ?)').run(accountId, key, JSON.stringify(meta), this.tick());
    })();
    let seq = 0;
    let bytes = 0;
    let open = true;
    const abandon = () => {
      if (!open) return;
      open = false;
      this.remove(accountId, key);
    };
    return {
      write: (chunk) => {
        if (!open) return;
        bytes += chunk.length;
        if (bytes > capBytes) return abandon();
        this.db.transaction(() => {
          this.db.prepare('INSERT INTO reach_cache_chunks (account_id, key, seq, data) VALUES (?, ?, ?, ?)').run(accountId, key, seq++, chunk);
          // A part on its way counts against the cap as it grows: parts never finished cannot fill the disk.
          this.db.prepare('UPDATE reach_cache SET bytes = ? WHERE account_id = ? AND key = ?').run(bytes, accountId, key);
        })();
        if (this.size(accountId) <= capBytes) return;
        this.evict(accountId, capBytes, key);
        // Still over: other parts on their way hold the room; this one is not kept.
        if (this.size(accountId) > capBytes) abandon();
      },
      finish: () => {
        if (!open) return;
        open = false;
        this.db.transaction(() => {
          this.db.prepare('UPDATE reach_cache SET bytes = ?, complete = 1, used_at = ? WHERE account_id = ? AND key = ?').run(bytes, this.tick(), accountId, key);
          this.evict(accountId, capBytes, key);
        })();
      },
      abandon,
    };
  }

  /** Parts that never came whole (the server stopped while one streamed): dropped at start. */
  dropIncomplete(): void {
    this.db.prepare('DELETE FROM reach_cache WHERE complete = 0').run();
  }

  remove(accountId: string, key: string): void {
    this.db.prepare('DELETE FROM reach_cache WHERE account_id = ? AND key = ?').run(accountId, key);
  }

  /** Bytes an account's cache holds: complete entries, and the parts on their way so far. */
  size(accountId: string): number {
    return (this.db.prepare('SELECT COALESCE(SUM(bytes), 0) AS n FROM reach_cache WHERE account_id = ?').get(accountId) as { n: number }).n;
  }

  /** Least recently used first out, until the account is under its cap (`keep`: the entry just written). */
  private evict(accountId: string, capBytes: number, keep: string): void {
    let total = this.size(accountId);
    if (total <= capBytes) return;
    const oldest = this.db.prepare('SELECT key, bytes FROM reach_cache WHERE account_id = ? AND complete = 1 AND key != ? ORDER BY used_at, key').iterate(accountId, keep) as Iterable<{
      key: string;
      bytes: number;
    }>;
    const out: string[] = [];
    for (const row of oldest) {
      if (total <= capBytes) break;
      out.push(row.key);
      total -= row.bytes;
    }
    for (const key of out) this.remove(accountId, key);
  }
}

export interface PartWriter {
  write(chunk: Buffer): void;
  /** Every chunk is in: the entry counts, and older ones make room. */
  finish(): void;
  /** The part did not come whole (cancelled, failed): nothing of it is kept. */
  abandon(): void;
}
