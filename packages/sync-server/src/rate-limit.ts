import { isIPv6 } from 'node:net';

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
 * Pure: the caller passes the time.
 */
export interface RateLimitOptions {
  limit: number;
  windowMs: number;
}

export class FailureLimiter {
  private readonly failures = new Map<string, number[]>();

  constructor(private readonly options: RateLimitOptions = { limit: 10, windowMs: 60_000 }) {}

  /** May an attempt for every one of these keys go ahead now? */
  allowed(keys: string[], now: number): boolean {
    return keys.every((key) => this.recent(key, now).length < this.options.limit);
  }

  failed(keys: string[], now: number): void {
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
