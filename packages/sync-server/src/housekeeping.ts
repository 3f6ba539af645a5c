/**
 * Housekeeping (docs/retention.md): the phone's Trash and Sent do not grow
 * forever, the database gives freed space back — and retention never removes
 * desktop mail the user did not ask to remove (issue 18.3, 18.4).
 *
 * - Trash: the phone keeps a trashed message `trashDays` after it was
 *   trashed, then drops its copy (an `unmap` for the desktop: the desktop's
 *   Trash keeps the message). Only where the operator opts in
 *   (`expireDesktopTrash`) does it ask the desktop to destroy its copy too —
 *   an `expire`, which the agent carries out only if, at that moment, the
 *   message is in the desktop Trash and is this very message (identity): a
 *   message the user recovered on the desktop meanwhile stays.
 * - Sent: the phone's copy of a sent message older than `sentDays` goes from
 *   the phone only; the desktop's Sent folder keeps its own.
 * - Size: over `maxBytesPerAccount`, the phone first drops its copies of sent
 *   messages (oldest first), then its oldest Trash copies (unmapped, never
 *   destroyed on the desktop), until it fits. Mail for the phone address is
 *   refused while the account is over it (inbound/smtp-receiver.ts: 452), so
 *   a stranger who fills the Inbox can cost the user nothing on the desktop.
 * - A message an action still waits for (a phone change not yet on the
 *   desktop, a copy for the desktop's Sent) is kept until it is done.
 * - Then the free pages go back to the file system (SQLite: store/db.ts;
 *   PostgreSQL's autovacuum does that by itself).
 *
 * The server runs it at start and every `intervalMinutes` (one run at a
 * time); `twinbox-server housekeeping --config FILE` runs it now. Across the
 * nodes of a deployment (and a command run beside them) one run at a time
 * too: a run holds the `housekeeping` lease in `cluster_jobs`, renewed
 * between accounts; a run that finds it held leaves the work to its holder
 * (docs/scaling.md).
 */
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import type { Logger } from './log.js';
import type { ServerStore } from './store/index.js';
import type { LeaseHolder } from './store/sync-leases.js';

const JOB = 'housekeeping';
/** Long enough for any one account's work; a run killed midway holds the others off at most this long. */
const JOB_LEASE_MS = 5 * 60_000;
/** This process among the runs (a node restarted under its name takes its earlier run's turn back: sync-leases.ts). */
const BOOT = randomBytes(6).toString('hex');
let runs = 0;

export interface RetentionConfig {
  /** Days the phone keeps a Trash copy; 0 keeps it until the user deletes it. */
  trashDays: number;
  /** Opt-in: when the phone drops a Trash copy by age, destroy the desktop's Trash copy too (if it is still there). */
  expireDesktopTrash: boolean;
  /** Days the phone keeps its copy of a sent message; 0 keeps it. */
  sentDays: number;
  /** Bytes an account's phone mailbox may hold; 0 sets no limit. Also the inbound quota. */
  maxBytesPerAccount: number;
  /** How often the server runs housekeeping. */
  intervalMinutes: number;
}

export const RETENTION_DEFAULTS: RetentionConfig = {
  trashDays: 30,
  expireDesktopTrash: false,
  sentDays: 90,
  maxBytesPerAccount: 1024 * 1024 * 1024,
  intervalMinutes: 60,
};

export interface HousekeepingReport {
  /**
   * Per account: phone Trash copies dropped (the desktop keeps them), of which
   * `trashExpired` were also asked to go from the desktop Trash (opt-in), and
   * phone Sent copies removed.
   */
  accounts: Record<string, { trashDropped: number; trashExpired: number; sentRemoved: number }>;
  /** Database pages given back (SQLite; PostgreSQL: 0, its autovacuum does it). */
  pagesFreed: number;
  /** Not run: another node (named) holds housekeeping's turn. */
  busy?: string;
}

const DAY_MS = 24 * 60 * 60 * 1000;

/** What the phone may let go of: a Trash or Sent copy no action waits for. */
async function removable(store: ServerStore, accountId: string, id: number): Promise<boolean> {
  return !(await store.actions.pendingFor(accountId, id));
}

/**
 * The phone lets go of a Trash copy: `expire` asks the desktop to destroy its
 * copy too; `unmap` leaves it there. False when it is no longer there to let go.
 */
function dropTrash(store: ServerStore, accountId: string, id: number, expire: boolean): Promise<boolean> {
  return store.transaction(async () => {
    const message = await store.messages.get(accountId, id);
    if (!message || message.folder !== 'trash' || !(await removable(store, accountId, id))) return false;
    await store.messages.delete(accountId, id);
    await store.quarantine.deleteForMessage(accountId, id);
    if (expire) await store.actions.append(accountId, 'expire', id, { folder: 'trash', fingerprint: message.fingerprint, digest: message.digest });
    else await store.actions.append(accountId, 'unmap', id);
    return true;
  }, { scope: accountId });
}

/** The phone's copy of a sent message goes (the desktop's Sent keeps its own). */
function removeSent(store: ServerStore, accountId: string, id: number): Promise<boolean> {
  return store.transaction(async () => {
    if (!(await removable(store, accountId, id))) return false;
    await store.messages.delete(accountId, id);
    return true;
  }, { scope: accountId });
}

/**
 * Run housekeeping now, as `node` (cluster.nodeName), unless another run holds its turn: then wait up to
 * `waitMs` for it (the command does; a node's scheduled run leaves the work to the holder at once).
 */
export async function runHousekeeping(
  store: ServerStore,
  retention: RetentionConfig,
  log: Logger,
  options: { now?: number; node?: string; waitMs?: number } = {},
): Promise<HousekeepingReport> {
  const holder: LeaseHolder = { node: options.node ?? hostname(), boot: BOOT, session: ++runs };
  const until = Date.now() + (options.waitMs ?? 0);
  let ours = await store.jobs.acquire(JOB, holder, JOB_LEASE_MS);
  while (!ours && Date.now() < until) {
    await new Promise((resolve) => setTimeout(resolve, 250));
    ours = await store.jobs.acquire(JOB, holder, JOB_LEASE_MS);
  }
  if (!ours) {
    const busy = (await store.jobs.holder(JOB))?.split('/')[0] ?? 'another run';
    log.info('housekeeping: another run holds its turn; leaving the work to it', { holder: busy });
    return { accounts: {}, pagesFreed: 0, busy };
  }
  try {
    return await runHeld(store, retention, log, options.now ?? Date.now(), holder);
  } finally {
    await store.jobs.release(JOB, holder);
  }
}

async function runHeld(store: ServerStore, retention: RetentionConfig, log: Logger, now: number, holder: LeaseHolder): Promise<HousekeepingReport> {
  const report: HousekeepingReport = { accounts: {}, pagesFreed: 0 };
  for (const account of await store.accounts.list()) {
    // Still our turn (a run that stalled past its lease stops: another may have taken over).
    if (!(await store.jobs.renew(JOB, holder, JOB_LEASE_MS))) {
      log.warn('housekeeping: its turn ran out; stopping here', { account: account.id });
      break;
    }
    const done = { trashDropped: 0, trashExpired: 0, sentRemoved: 0 };
    // Counted once the transaction is done: on PostgreSQL its callback may run more than once.
    const trash = async (id: number, expire: boolean): Promise<boolean> => {
      if (!(await dropTrash(store, account.id, id, expire))) return false;
      done.trashDropped++;
      if (expire) done.trashExpired++;
      return true;
    };
    const sent = async (id: number): Promise<boolean> => {
      if (!(await removeSent(store, account.id, id))) return false;
      done.sentRemoved++;
      return true;
    };
    const expired = (days: number, m: { since: number }) => days > 0 && m.since < now - days * DAY_MS;

    const keptTrash: { id: number; size: number }[] = [];
    for (const m of await store.messages.byAge(account.id, 'trash')) {
      if (!(expired(retention.trashDays, m) && (await trash(m.id, retention.expireDesktopTrash)))) keptTrash.push(m);
    }
    const keptSent: { id: number; size: number }[] = [];
    for (const m of await store.messages.byAge(account.id, 'sent')) {
      if (!(expired(retention.sentDays, m) && (await sent(m.id)))) keptSent.push(m);
    }
    // Over the cap: phone-only copies first (Sent), then Trash copies — from the phone only, never the desktop.
    if (retention.maxBytesPerAccount > 0) {
      let bytes = await store.messages.bytes(account.id);
      for (const m of keptSent) {
        if (bytes <= retention.maxBytesPerAccount) break;
        if (await sent(m.id)) bytes -= m.size;
      }
      for (const m of keptTrash) {
        if (bytes <= retention.maxBytesPerAccount) break;
        if (await trash(m.id, false)) bytes -= m.size;
      }
    }
    if (done.trashDropped + done.sentRemoved > 0) {
      report.accounts[account.id] = done;
      log.info('housekeeping: phone copies removed', { account: account.id, ...done });
    }
  }
  report.pagesFreed = await store.engine.releaseFreePages();
  return report;
}

/**
 * Run housekeeping now and every `intervalMinutes`, one run at a time (a run
 * still going when the next is due lets it pass); returns the stop function,
 * which resolves once a run in progress is done, so the store can close.
 */
export function scheduleHousekeeping(store: ServerStore, retention: RetentionConfig, log: Logger, node?: string): () => Promise<void> {
  let running: Promise<void> | undefined;
  const run = () => {
    if (running) return;
    running = runHousekeeping(store, retention, log, node ? { node } : {})
      .then(
        () => undefined,
        (err: unknown) => log.error('housekeeping failed', { error: String(err) }),
      )
      .finally(() => {
        running = undefined;
      });
  };
  const first = setTimeout(run, 5_000);
  const timer = setInterval(run, retention.intervalMinutes * 60_000);
  first.unref();
  timer.unref();
  return async () => {
    clearTimeout(first);
    clearInterval(timer);
    await running;
  };
}
