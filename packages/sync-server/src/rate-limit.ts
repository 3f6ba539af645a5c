import { isIPv6 } from 'node:net';
import type { SqlEngine } from './store/engine.js';

/**
 * The key a client address is limited under: an IPv4 address as it is, an
 * IPv6 address by its /64 (one host usually holds a whole /64).
 */
export function sourceKey(address: string): string {
  const plain = address.replace(/^::ffff:(?=\d+\.)/, '');
  if (!isIPv6(plain)) return `source:${plain}`;
  const [head = '', tail = ''] = plain.split('::');
  const left = head === '' ? [] : head.split(':');
  const right = tail === '' ? [] : tail.split(':');
  const groups = plain.includes('::') ? [...left, ...Array<string>(8 - left.length - right.length).fill('0'), ...right] : left;
  return `source:${groups.slice(0, 4).map((g) => g.toLowerCase().replace(/^0+(?=.)/, '')).join(':')}::/64`;
}

/**
 * Failed-login limiter: after `limit` failures within `windowMs` for one key
 * (a source address, an account), further attempts for that key are refused
 * until the oldest failure leaves the window. Successful logins cost nothing.
 * The caller passes the time.
 */
export interface RateLimitOptions {
  limit: number;
  windowMs: number;
}

const DEFAULT_LIMITS: RateLimitOptions = { limit: 10, windowMs: 60_000 };

export interface LoginLimiter {
  /** May an attempt for every one of these keys go ahead now? */
  allowed(keys: string[], now: number): Promise<boolean>;
  failed(keys: string[], now: number): Promise<void>;
}

/** The limiter of one server process (SQLite: one server per database). */
export class FailureLimiter implements LoginLimiter {
  private readonly failures = new Map<string, number[]>();

  constructor(private readonly options: RateLimitOptions = DEFAULT_LIMITS) {}

  async allowed(keys: string[], now: number): Promise<boolean> {
    return keys.every((key) => this.recent(key, now).length < this.options.limit);
  }

  async failed(keys: string[], now: number): Promise<void> {
    for (const key of keys) {
      const list = this.recent(key, now);
      list.push(now);
      this.failures.set(key, list);
    }
    // Keep memory bounded: forget keys whose failures all left the window.
    if (this.failures.size > 10_000) for (const key of [...this.failures.keys()]) if (this.recent(key, now).length === 0) this.failures.delete(key);
  }

  private recent(key: string, now: number): number[] {
    const list = (this.failures.get(key) ?? []).filter((t) => now - t < this.options.windowMs);
    if (list.length === 0) this.failures.delete(key);
    else this.failures.set(key, list);
    return list;
  }
}

/**
 * The limiter of several nodes (docs/scaling.md): failures are rows in the
 * database (`login_failures`), so a source gets `limit` attempts in all, not
 * `limit` per node. `scope` keeps the phone API's failures apart from the
 * sync endpoint's, as each process keeps its own. Only failures are written;
 * rows that left the window go with each new failure.
 */
export class StoredFailureLimiter implements LoginLimiter {
  constructor(
    private readonly db: SqlEngine,
    private readonly scope: string,
    private readonly options: RateLimitOptions = DEFAULT_LIMITS,
  ) {}

  async allowed(keys: string[], now: number): Promise<boolean> {
    for (const key of keys) {
      const row = await this.db.get<{ n: number }>('SELECT COUNT(*) AS n FROM login_failures WHERE scope_key = ? AND at > ?', [`${this.scope}:${key}`, now - this.options.windowMs]);
      if ((row?.n ?? 0) >= this.options.limit) return false;
    }
    return true;
  }

  async failed(keys: string[], now: number): Promise<void> {
    await this.db.transaction(async () => {
      await this.db.run('DELETE FROM login_failures WHERE at <= ?', [now - this.options.windowMs]);
      for (const key of keys) await this.db.run('INSERT INTO login_failures (scope_key, at) VALUES (?, ?)', [`${this.scope}:${key}`, now]);
    });
  }
}
