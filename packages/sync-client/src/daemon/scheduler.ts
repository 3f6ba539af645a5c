/**
 * One sync at a time per account, and at most one queued behind it (SPEC §9):
 * requests that arrive while a sync runs — a burst of ten triggers, a push
 * and the schedule at once — coalesce into a single follow-up sync.
 */
import { EventEmitter } from 'node:events';

export type SyncReason = 'startup' | 'schedule' | 'trigger' | 'push' | 'manual';

/** `reason` is the request that started the sync; `reasons` every request it answers (folded ones too). */
export interface SchedulerEvents<T> {
  synced: [{ reason: SyncReason; reasons: SyncReason[]; result: T; coalesced: number }];
  failed: [{ reason: SyncReason; reasons: SyncReason[]; error: unknown; coalesced: number }];
}

export class SyncScheduler<T> extends EventEmitter<SchedulerEvents<T>> {
  private running: Promise<void> | undefined;
  /** Requests waiting for the next sync, in order; they all become one sync. */
  private queued: SyncReason[] = [];
  private stopped = false;

  constructor(private readonly run: (reason: SyncReason) => Promise<T>) {
    super();
  }

  get busy(): boolean {
    return this.running !== undefined;
  }

  request(reason: SyncReason): void {
    if (this.stopped) return;
    if (this.running) this.queued.push(reason);
    else this.running = this.start([reason]);
  }

  /** Stop taking requests; resolves when the sync under way (if any) has finished. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.queued = [];
    while (this.running) await this.running;
  }

  private async start(reasons: SyncReason[]): Promise<void> {
    const reason = reasons[0]!;
    const coalesced = reasons.length - 1;
    try {
      const result = await this.run(reason);
      this.emit('synced', { reason, reasons, result, coalesced });
    } catch (error) {
      this.emit('failed', { reason, reasons, error, coalesced });
    }
    const next = this.queued;
    this.queued = [];
    this.running = next.length > 0 && !this.stopped ? this.start(next) : undefined;
  }
}
