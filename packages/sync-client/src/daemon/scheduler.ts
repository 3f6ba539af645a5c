/**
 * One sync at a time per account, and at most one queued behind it (SPEC §9):
 * requests that arrive while a sync runs — a burst of ten triggers, a push
 * and the schedule at once — coalesce into a single follow-up sync.
 */
import { EventEmitter } from 'node:events';

export type SyncReason = 'startup' | 'schedule' | 'trigger' | 'push' | 'manual';

export interface SchedulerEvents<T> {
  synced: [{ reason: SyncReason; result: T; coalesced: number }];
  failed: [{ reason: SyncReason; error: unknown; coalesced: number }];
}

export class SyncScheduler<T> extends EventEmitter<SchedulerEvents<T>> {
  private running: Promise<void> | undefined;
  private queued: SyncReason | undefined;
  /** Requests folded into the queued sync (beyond the first). */
  private coalesced = 0;
  private stopped = false;

  constructor(private readonly run: (reason: SyncReason) => Promise<T>) {
    super();
  }

  get busy(): boolean {
    return this.running !== undefined;
  }

  request(reason: SyncReason): void {
    if (this.stopped) return;
    if (!this.running) return void (this.running = this.start(reason, 0));
    if (this.queued) this.coalesced++;
    else this.queued = reason;
  }

  /** Stop taking requests; resolves when the sync under way (if any) has finished. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.queued = undefined;
    while (this.running) await this.running;
  }

  private async start(reason: SyncReason, coalesced: number): Promise<void> {
    try {
      const result = await this.run(reason);
      this.emit('synced', { reason, result, coalesced });
    } catch (error) {
      this.emit('failed', { reason, error, coalesced });
    }
    const next = this.queued;
    const folded = this.coalesced;
    this.queued = undefined;
    this.coalesced = 0;
    this.running = next && !this.stopped ? this.start(next, folded) : undefined;
  }
}
