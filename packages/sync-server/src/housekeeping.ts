/**
 * Housekeeping (issue 13): phone Trash and Sent do not grow forever, and the
 * database gives freed space back.
 *
 * - Trash: a message trashed longer ago than `trashDays` is destroyed — a
 *   `destroy` action, so the desktop's copy in its Trash goes too, the way a
 *   user's "delete forever" would (SPEC §4).
 * - Sent: the phone's copy of a sent message older than `sentDays` is removed
 *   from the phone only; the desktop's Sent folder keeps its copy (it is the
 *   archive). A message an action still waits for is kept until it is done.
 * - Size: when an account's phone mailbox holds more than
 *   `maxBytesPerAccount`, the oldest Trash, then the oldest Sent messages go
 *   the same ways until it fits (the Inbox is bounded by its window).
 * - Then the free pages go back to the file system (store/db.ts).
 *
 * The server runs it at start and every `intervalMinutes`;
 * `twinbox-server housekeeping --config FILE` runs it now.
 */
import type { Logger } from './log.js';
import { PhoneMailbox } from './phone/phone-mailbox.js';
import { releaseFreePages } from './store/db.js';
import type { ServerStore } from './store/index.js';

export interface RetentionConfig {
  /** Days a message stays in phone Trash; 0 keeps it until the user deletes it. */
  trashDays: number;
  /** Days the phone keeps its copy of a sent message; 0 keeps it. */
  sentDays: number;
  /** Bytes an account's phone mailbox may hold; 0 sets no limit. */
  maxBytesPerAccount: number;
  /** How often the server runs housekeeping. */
  intervalMinutes: number;
}

export const RETENTION_DEFAULTS: RetentionConfig = {
  trashDays: 30,
  sentDays: 90,
  maxBytesPerAccount: 1024 * 1024 * 1024,
  intervalMinutes: 60,
};

export interface HousekeepingReport {
  /** Per account: Trash messages destroyed (both sides), phone Sent copies removed. */
  accounts: Record<string, { trashDestroyed: number; sentRemoved: number }>;
  /** Database pages given back. */
  pagesFreed: number;
}

const DAY_MS = 24 * 60 * 60 * 1000;

export function runHousekeeping(store: ServerStore, retention: RetentionConfig, log: Logger, now = Date.now()): HousekeepingReport {
  const report: HousekeepingReport = { accounts: {}, pagesFreed: 0 };
  for (const account of store.accounts.list()) {
    const mailbox = new PhoneMailbox(store, account.id);
    const done = { trashDestroyed: 0, sentRemoved: 0 };
    const destroy = (id: number) => {
      mailbox.destroy(id);
      done.trashDestroyed++;
    };
    // A phone copy of a sent message, unless an action (a `sent` copy for the desktop) still waits for it.
    const removeSent = (id: number): boolean => {
      if (store.actions.pendingFor(account.id, id)) return false;
      store.transaction(() => store.messages.delete(account.id, id));
      done.sentRemoved++;
      return true;
    };
    const expired = (days: number, m: { since: number }) => days > 0 && m.since < now - days * DAY_MS;
    const keptTrash: { id: number; size: number }[] = [];
    for (const m of store.messages.byAge(account.id, 'trash')) {
      if (expired(retention.trashDays, m)) destroy(m.id);
      else keptTrash.push(m);
    }
    const keptSent: { id: number; size: number }[] = [];
    for (const m of store.messages.byAge(account.id, 'sent')) {
      if (!(expired(retention.sentDays, m) && removeSent(m.id))) keptSent.push(m);
    }
    if (retention.maxBytesPerAccount > 0) {
      let bytes = store.messages.bytes(account.id);
      for (const m of keptTrash) {
        if (bytes <= retention.maxBytesPerAccount) break;
        destroy(m.id);
        bytes -= m.size;
      }
      for (const m of keptSent) {
        if (bytes <= retention.maxBytesPerAccount) break;
        if (removeSent(m.id)) bytes -= m.size;
      }
    }
    if (done.trashDestroyed + done.sentRemoved > 0) {
      report.accounts[account.id] = done;
      log.info('housekeeping: old mail removed', { account: account.id, ...done });
    }
  }
  report.pagesFreed = releaseFreePages(store.db);
  return report;
}

/** Run housekeeping now and every `intervalMinutes`; returns the stop function. */
export function scheduleHousekeeping(store: ServerStore, retention: RetentionConfig, log: Logger): () => void {
  const run = () => {
    try {
      runHousekeeping(store, retention, log);
    } catch (err) {
      log.error('housekeeping failed', { error: String(err) });
    }
  };
  const first = setTimeout(run, 5_000);
  const timer = setInterval(run, retention.intervalMinutes * 60_000);
  first.unref();
  timer.unref();
  return () => {
    clearTimeout(first);
    clearInterval(timer);
  };
}
