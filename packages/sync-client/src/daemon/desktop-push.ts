/**
 * Desktop push (docs/spec.md §9): what the desktop watcher hears becomes
 * syncs. The decisions are change-plan.ts's (a burst becomes one sync; a
 * sync covers what was heard before it started; "anything new?" by STATUS);
 * this module keeps the one timer and tells the daemon when to sync.
 *
 * The daemon reports every sync's start and end (whatever asked for it), so
 * a change the sync under way already covers asks for nothing more.
 */
import type { Logger } from '@twinbox/protocol';
import type { AgentStore, FolderRole } from '../store/agent-store.js';
import { ChangeBatcher, DEFAULT_TIMING, StatusCheck, trashNotificationChanged, type BatchTiming, type FolderStatus } from './change-plan.js';

export class DesktopPush {
  private readonly batcher: ChangeBatcher;
  private readonly check = new StatusCheck();
  private timer: NodeJS.Timeout | undefined;
  /** What was heard since the last sync was asked for (for the log line). */
  private heard = new Map<string, number>();
  private stopped = false;

  constructor(
    private readonly store: AgentStore,
    /** Ask for a sync (the daemon's scheduler, reason `desktop`). */
    private readonly requestSync: () => void,
    private readonly log: Logger,
    timing: BatchTiming = DEFAULT_TIMING,
    private readonly now: () => number = Date.now,
  ) {
    this.batcher = new ChangeBatcher(timing);
  }

  /** The watcher heard a change (EXISTS, EXPUNGE, FETCH FLAGS, NOTIFY's STATUS). */
  changed(what: string): void {
    if (this.stopped) return;
    this.heard.set(what, (this.heard.get(what) ?? 0) + 1);
    this.log.debug('desktop change heard', { what, state: this.batcher.state.name });
    this.batcher.change(this.now());
    this.arm();
  }

  /** NOTIFY's STATUS of Trash: a change unless it shows Trash as the last sync saw it (change-plan.ts). */
  trashNotified(status: FolderStatus | undefined): void {
    if (trashNotificationChanged(this.store.folderState('trash'), status)) this.changed('trash');
    else this.log.debug('desktop change heard: Trash as the last sync saw it', {});
  }

  /** The watcher's "anything new?" answer: STATUS of INBOX and Trash (and whether its connection was down since). */
  status(now: Partial<Record<FolderRole, FolderStatus>>, afterGap: boolean): void {
    if (this.check.verdict((role) => this.store.folderState(role), now, afterGap)) this.changed(afterGap ? 'status after a reconnect' : 'status');
  }

  /** A sync starts (any reason): it will see every change heard so far. */
  syncStarting(): void {
    this.batcher.syncStarted();
    this.heard.clear();
    clearTimeout(this.timer);
  }

  /** The sync ended: what was heard during it (its own changes among them) makes one more sync, after a quiet period. */
  syncEnded(): void {
    this.batcher.syncEnded(this.now());
    this.arm();
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
  }

  private arm(): void {
    clearTimeout(this.timer);
    const at = this.batcher.dueAt();
    if (at === undefined || this.stopped) return;
    this.timer = setTimeout(() => this.fire(), Math.max(0, at - this.now()));
  }

  private fire(): void {
    if (this.stopped) return;
    if (!this.batcher.due(this.now())) return this.arm();
    this.log.info('desktop changed: sync requested', { heard: Object.fromEntries(this.heard) });
    this.heard.clear();
    this.requestSync();
  }
}
