/**
 * One sync at a time per account, and at most one queued behind it (docs/spec.md §9):
 * requests that arrive while a sync runs — a burst of ten triggers, a push,
 * the schedule and a `twinbox-agent sync` at once — coalesce into a single
 * follow-up sync. Whoever asks with `requestAndWait` hears the outcome of the
 * sync that answers the request: the one it started, or the follow-up it was
 * folded into (never a sync that began before it asked).
 */
import { EventEmitter } from 'node:events';
import { TwinboxError } from '@twinbox/protocol';

export type SyncReason = 'startup' | 'schedule' | 'trigger' | 'push' | 'manual' | 'desktop';

/** `reason` is the request that started the sync; `reasons` every request it answers (folded ones too). */
export interface SchedulerEvents<T> {
  synced: [{ reason: SyncReason; reasons: SyncReason[]; result: T; coalesced: number }];
  failed: [{ reason: SyncReason; reasons: SyncReason[]; error: unknown; coalesced: number }];
}

interface Waiter<T> {
  resolve: (result: T) => void;
  reject: (error: unknown) => void;
}

export class SyncScheduler<T> extends EventEmitter<SchedulerEvents<T>> {
  private running: Promise<void> | undefined;
  /** Requests waiting for the next sync, in order; they all become one sync. */
  private queued: SyncReason[] = [];
  private queuedWaiters: Waiter<T>[] = [];
  private stopped = false;

  constructor(private readonly run: (reason: SyncReason) => Promise<T>) {
    super();
  }

  get busy(): boolean {
    return this.running !== undefined;
  }

  request(reason: SyncReason): void {
    this.enqueue(reason, undefined);
  }

  /** Ask for a sync and hear its outcome (the result, or the error it failed with). */
  requestAndWait(reason: SyncReason): Promise<T> {
    return new Promise((resolve, reject) => this.enqueue(reason, { resolve, reject }));
  }

  /** Resolves once no sync runs and none is queued. */
  async idle(): Promise<void> {
    while (this.running) await this.running;
  }

  /** Stop taking requests; resolves when the sync under way (if any) has finished. Queued requests hear BUSY. */
  async stop(): Promise<void> {
    this.stopped = true;
    const dropped = this.queuedWaiters;
    this.queued = [];
    this.queuedWaiters = [];
    for (const waiter of dropped) waiter.reject(new TwinboxError('BUSY', 'the agent stopped before it could run this sync; try again'));
    await this.idle();
  }

  private enqueue(reason: SyncReason, waiter: Waiter<T> | undefined): void {
    if (this.stopped) return waiter?.reject(new TwinboxError('BUSY', 'the agent is stopping; try again'));
    if (this.running) {
      this.queued.push(reason);
      if (waiter) this.queuedWaiters.push(waiter);
    } else this.running = this.start([reason], waiter ? [waiter] : []);
  }

  private async start(reasons: SyncReason[], waiters: Waiter<T>[]): Promise<void> {
    const reason = reasons[0]!;
    const coalesced = reasons.length - 1;
    // A run that throws before it returns a promise still fails after enqueue() has recorded this one as running:
    // settled at once, start() would clear `running` before enqueue() set it, and no sync would ever run again.
    let pending: Promise<T>;
    try {
      pending = this.run(reason);
    } catch (error) {
      pending = Promise.reject(error as Error);
    }
    try {
      const result = await pending;
      this.emit('synced', { reason, reasons, result, coalesced });
      for (const waiter of waiters) waiter.resolve(result);
    } catch (error) {
      this.emit('failed', { reason, reasons, error, coalesced });
      for (const waiter of waiters) waiter.reject(error);
    }
    const next = this.queued;
    const nextWaiters = this.queuedWaiters;
    this.queued = [];
    this.queuedWaiters = [];
    this.running = next.length > 0 && !this.stopped ? this.start(next, nextWaiters) : undefined;
  }
}
