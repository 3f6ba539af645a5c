/**
 * Desktop push, the decisions (docs/spec.md §9: a sync runs "when the desktop
 * changes (the background agent listens)"). Pure: time comes from the caller;
 * desktop-watcher.ts and desktop-push.ts do the I/O and keep the timers.
 *
 * 1. ChangeBatcher: a burst of desktop changes becomes one sync. IMAP IDLE
 *    (RFC 2177) and NOTIFY (RFC 5465) report each change on its own (200
 *    deliveries: 200 EXISTS), so the batcher waits for a quiet period after
 *    the last one, bounded by a maximum delay after the first:
 *
 *                change                     quiet, or max delay reached
 *       idle ──────────────► gathering ──────────────────────────────► requested
 *        ▲                   │  ▲ change                                  │
 *        │  sync started     │  └──┘                        sync started  │
 *        │  (it sees them)   ▼                                            ▼
 *        └──── no change ◄── syncing ◄────────────────────────────────────┘
 *          during the sync      │ change (noted: the sync may have missed it)
 *                               │ sync ended ─► gathering (from the end: a quiet period, then one more sync)
 *
 *    A sync that starts covers every change reported before it started: its
 *    detection (phases/detect.ts) reads the mailbox afterwards, whatever asked
 *    for it (push, trigger, schedule). A change reported while a sync runs may
 *    have come too late for its detection, or be that sync's own change
 *    (applying phone actions, appending phone mail) coming back as a
 *    notification: either way one more sync follows, after a quiet period
 *    from the sync's end. That follow-up is cheap — a sync that finds
 *    nothing is one STATUS and one round trip to the server — and changes
 *    nothing on the desktop itself, so it cannot start another: the chain
 *    ends there — after a second quiet one at most, when an echo of the
 *    first sync's own changes reaches the watcher only while the follow-up
 *    runs (a loaded machine: the watcher heard it late). (Telling the agent's own changes from the user's by the
 *    notification alone would need the detection's rules a second time.)
 *
 * 2. statusChanged / StatusCheck: the cheap "anything new?" (a poll every
 *    imap.pollSeconds where the server has no IDLE, after a reconnect, and
 *    as a backstop where it has): STATUS of INBOX and Trash compared with
 *    what the last sync's detection saw (the agent store's folder state). A
 *    snapshot that already asked for a sync does not ask again, so a field
 *    the detection records differently from STATUS can never start a sync
 *    every poll.
 *
 * 3. trashNotificationChanged: NOTIFY's STATUS of Trash compared the same
 *    way, so that a sync merely looking at Trash does not start another.
 */
import type { FolderRole, FolderState } from '../store/agent-store.js';

export interface BatchTiming {
  /** A burst ends when no change came for this long. */
  quietMs: number;
  /** …or this long after its first change, whichever comes first. */
  maxDelayMs: number;
}

export const DEFAULT_TIMING: BatchTiming = { quietMs: 250, maxDelayMs: 2000 };

export type BatcherState =
  | { name: 'idle' }
  | { name: 'gathering'; firstAt: number; lastAt: number }
  | { name: 'requested' }
  | { name: 'syncing'; changedDuring: boolean };

export class ChangeBatcher {
  private current: BatcherState = { name: 'idle' };

  constructor(private readonly timing: BatchTiming = DEFAULT_TIMING) {}

  get state(): BatcherState {
    return this.current;
  }

  /** The desktop reported a change (a notification, or a STATUS that differs). */
  change(now: number): void {
    const s = this.current;
    switch (s.name) {
      case 'idle':
        this.current = { name: 'gathering', firstAt: now, lastAt: now };
        return;
      case 'gathering':
        this.current = { ...s, lastAt: now };
        return;
      case 'requested':
        return; // the sync asked for has not started: its detection will see this change
      case 'syncing':
        this.current = { name: 'syncing', changedDuring: true };
        return;
    }
  }

  /** A sync starts, whatever asked for it: it covers every change reported so far. */
  syncStarted(): void {
    this.current = { name: 'syncing', changedDuring: false };
  }

  /** The sync ended (completed or failed). Changes reported during it start a burst now. */
  syncEnded(now: number): void {
    const s = this.current;
    if (s.name !== 'syncing') return;
    this.current = s.changedDuring ? { name: 'gathering', firstAt: now, lastAt: now } : { name: 'idle' };
  }

  /** When `due` should be asked next (undefined: nothing pending). */
  dueAt(): number | undefined {
    const s = this.current;
    if (s.name !== 'gathering') return undefined;
    return Math.min(s.lastAt + this.timing.quietMs, s.firstAt + this.timing.maxDelayMs);
  }

  /** Is a sync due now? If so the batcher counts it as asked for (the caller asks the scheduler). */
  due(now: number): boolean {
    const at = this.dueAt();
    if (at === undefined || now < at) return false;
    this.current = { name: 'requested' };
    return true;
  }
}

/** A folder as STATUS (MESSAGES UIDNEXT UIDVALIDITY [HIGHESTMODSEQ]) reports it. */
export interface FolderStatus {
  uidValidity: string;
  uidNext: number;
  exists: number;
  /** Where the server has CONDSTORE (RFC 7162 §3.1.2.1); null otherwise. */
  highestModseq: string | null;
}

/**
 * Does the folder differ from what the last detection saw? New mail and
 * removals change UIDNEXT or the count; with CONDSTORE, a flag change raises
 * HIGHESTMODSEQ. Without it flag changes are not in STATUS (the watcher's
 * own session hears those of INBOX as FETCH responses instead).
 */
export function statusChanged(saved: FolderState | undefined, now: FolderStatus): boolean {
  if (!saved) return false; // never synced: the first sync (startup, schedule) is the one to run
  if (saved.uidValidity !== now.uidValidity || saved.uidNext !== now.uidNext) return true;
  if (saved.exists !== undefined && saved.exists !== now.exists) return true;
  return saved.highestModseq !== null && now.highestModseq !== null && saved.highestModseq !== now.highestModseq;
}

/**
 * NOTIFY's STATUS of Trash (RFC 5465 §5.2): a change only where it differs
 * from what the last sync saw. A sync's own SELECT of Trash makes Dovecot
 * notify too (the \Recent flags it takes), with the counts the sync just
 * recorded: that one is none. Without HIGHESTMODSEQ in it (no CONDSTORE) a
 * flag change could not be told from that, and an unreadable one neither:
 * those count.
 */
export function trashNotificationChanged(saved: FolderState | undefined, notified: FolderStatus | undefined): boolean {
  if (!notified || notified.highestModseq === null) return true;
  return statusChanged(saved, notified);
}

const snapshotOf = (status: Partial<Record<FolderRole, FolderStatus>>) => JSON.stringify([status.inbox ?? null, status.trash ?? null]);

/** The "anything new?" check over INBOX and Trash, remembering which snapshot last asked for a sync. */
export class StatusCheck {
  private asked: string | undefined;

  /**
   * True: ask for a sync. `saved` is the store's folder state; a folder not
   * looked at is left out of `now`. `afterGap`: the watcher's connection was
   * down since its last look, and a server without HIGHESTMODSEQ cannot say
   * in STATUS whether flags changed meanwhile — that counts as a change.
   */
  verdict(saved: (role: FolderRole) => FolderState | undefined, now: Partial<Record<FolderRole, FolderStatus>>, afterGap = false): boolean {
    if (afterGap && now.inbox !== undefined && now.inbox.highestModseq === null && saved('inbox') !== undefined) return true;
    const changed = (['inbox', 'trash'] as const).some((role) => now[role] !== undefined && statusChanged(saved(role), now[role]));
    if (!changed) {
      this.asked = undefined;
      return false;
    }
    const snapshot = snapshotOf(now);
    if (snapshot === this.asked) return false;
    this.asked = snapshot;
    return true;
  }
}
