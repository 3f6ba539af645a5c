import { randomBytes } from 'node:crypto';
import type { Logger } from '../log.js';
import type { LeaseHolder, SyncLeases } from '../store/sync-leases.js';

/**
 * One session per account at a time (docs/spec.md §9): within this process
 * (a set), and, given the store's leases, across every node on the database
 * (store/sync-leases.ts). A held lease is renewed every third of its life;
 * one found lost (it expired — this node could not reach the database — and
 * another node took the account) is reported to `onLost`, whose session must
 * stop at once.
 */
export class AccountLocks {
  private readonly held = new Map<string, { holder: LeaseHolder; renewedAt: number }>();
  private renewal: NodeJS.Timeout | undefined;
  private serial = 0;
  /** This run of the node: a restarted node takes over its earlier run's leases at once (sync-leases.ts). */
  private readonly boot = randomBytes(6).toString('hex');

  constructor(
    private readonly leases?: { store: SyncLeases; node: string; ttlMs: number; onLost: (holder: LeaseHolder) => void; log?: Logger },
  ) {}

  /** The account's lock for a new session: its holder (which unlock and fence take), or undefined when it is taken. */
  async tryLock(accountId: string): Promise<LeaseHolder | undefined> {
    if (this.held.has(accountId)) return undefined;
    const holder = { node: this.leases?.node ?? '', boot: this.boot, session: ++this.serial };
    this.held.set(accountId, { holder, renewedAt: Date.now() });
    if (this.leases && !(await this.leases.store.acquire(accountId, holder, this.leases.ttlMs).catch(() => false))) {
      if (this.held.get(accountId)?.holder === holder) this.held.delete(accountId);
      return undefined;
    }
    if (this.leases) this.renewal ??= setInterval(() => void this.renewAll(), this.leases.ttlMs / 3).unref();
    return holder;
  }

  /** Give back the lock `holder` holds (nothing, when it no longer holds it: another session's is never touched). */
  unlock(accountId: string, holder: LeaseHolder): void {
    if (this.held.get(accountId)?.holder !== holder) return;
    this.held.delete(accountId);
    if (this.leases) {
      const { store, log } = this.leases;
      // Should this fail (the database is away), the lease expires by itself.
      store.release(accountId, holder).catch((err: unknown) => log?.warn('could not release a sync lease', { account: accountId, error: String(err) }));
    }
    if (this.held.size === 0) this.stopRenewing();
  }

  /**
   * Does `holder` still hold the account? With leases, asked inside the transaction that applies the
   * session's next frames: the lease is renewed there only if it is still this holder's and unexpired,
   * and its row stays locked until that transaction ends — no other node can take it in between (fencing).
   */
  async fence(accountId: string, holder: LeaseHolder): Promise<boolean> {
    const entry = this.held.get(accountId);
    if (entry?.holder !== holder) return false;
    if (!this.leases) return true;
    if (!(await this.leases.store.renew(accountId, holder, this.leases.ttlMs))) return false;
    entry.renewedAt = Date.now();
    return true;
  }

  private async renewAll(): Promise<void> {
    const leases = this.leases!;
    for (const [accountId, entry] of [...this.held]) {
      const kept = await leases.store.renew(accountId, entry.holder, leases.ttlMs).catch((err: unknown) => {
        leases.log?.warn('could not renew a sync lease', { account: accountId, error: String(err) });
        // Not known lost until the lease could have expired: then another node may hold it.
        return Date.now() - entry.renewedAt < leases.ttlMs;
      });
      if (kept) entry.renewedAt = Date.now();
      if (!kept && this.held.get(accountId) === entry) {
        this.held.delete(accountId);
        leases.onLost(entry.holder);
      }
    }
  }

  private stopRenewing(): void {
    clearInterval(this.renewal);
    this.renewal = undefined;
  }

  /** The server stops: its leases end with it. */
  async releaseAll(): Promise<void> {
    this.stopRenewing();
    const held = [...this.held];
    this.held.clear();
    if (this.leases) await Promise.all(held.map(([accountId, { holder }]) => this.leases!.store.release(accountId, holder).catch(() => undefined)));
  }
}
