/**
 * Reconnection delays: exponential with full jitter, capped; the attempt count
 * resets only after a connection has stayed up for `stableMs` (a server that
 * accepts and drops at once must not be hammered). Pure: time and randomness
 * come from the caller.
 */
export interface BackoffOptions {
  initialMs?: number;
  maxMs?: number;
  stableMs?: number;
  random?: () => number;
}

export class Backoff {
  private attempt = 0;
  private connectedAt: number | undefined;
  private readonly initialMs: number;
  private readonly maxMs: number;
  private readonly stableMs: number;
  private readonly random: () => number;

  constructor(options: BackoffOptions = {}) {
    this.initialMs = options.initialMs ?? 1_000;
    this.maxMs = options.maxMs ?? 60_000;
    this.stableMs = options.stableMs ?? 60_000;
    this.random = options.random ?? Math.random;
  }

  /** The delay before the next attempt: uniform in [cap/2, cap], cap = min(max, initial·2^attempt). */
  next(): number {
    const cap = Math.min(this.maxMs, this.initialMs * 2 ** this.attempt);
    this.attempt = Math.min(this.attempt + 1, 30);
    return Math.round(cap / 2 + this.random() * (cap / 2));
  }

  connected(now: number): void {
    this.connectedAt = now;
  }

  disconnected(now: number): void {
    if (this.connectedAt !== undefined && now - this.connectedAt >= this.stableMs) this.attempt = 0;
    this.connectedAt = undefined;
  }
}
