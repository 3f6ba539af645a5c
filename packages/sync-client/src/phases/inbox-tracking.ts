/**
 * Which desktop INBOX messages the agent tracks (issue 11): enough to keep
 * the phone window right (docs/spec.md §2) without holding, fetching or comparing
 * the whole INBOX, which may hold 500,000 messages for a window of 50.
 *
 * The inbox state table holds every message that arrived at or after the
 * **floor**, plus some older ones (mapped messages, pending inserts, changes
 * reported by CONDSTORE; with `unreadFirst`, every unread message). The one
 * rule (window-floor.ts): every message the table does not hold arrived
 * before the floor. So when at least W messages of the table sort above the
 * floor, the table's top W are the INBOX's top W.
 *
 * - Messages found new in a sync (UID ≥ the saved UIDNEXT) are always
 *   tracked: new UIDs are never below the floor's reach, so the rule holds.
 * - When the messages above the floor drop below W (the user deleted or
 *   moved mail out of the window), the floor goes down: `UID SEARCH SINCE
 *   <day>` (INTERNALDATE by day, every IMAP server has it) lists the UIDs
 *   since an earlier day, and only the ones not yet tracked are fetched;
 *   widened ×4 until enough are found.
 * - When far more than needed sit above the floor (new mail keeps coming),
 *   the floor goes up and old rows that nothing refers to are dropped: the
 *   table stays O(W) however long the agent runs.
 * - With `unreadFirst` an old unread message outranks every read one, so
 *   every unread message is tracked (`UID SEARCH UNSEEN` each sync: the cost
 *   follows the number of unread messages, not the mailbox).
 */
import type { DesktopSummary } from '../imap/desktop-imap.js';
import type { SyncContext } from './context.js';
import { coverTarget, floorAfterSince, floorFor, pruneThreshold, sinceDayFor, widenedSinceDay, FULL_LISTING_BEFORE } from './window-floor.js';

type TrackingContext = Pick<SyncContext, 'store' | 'imap' | 'options' | 'triggers' | 'log' | 'progress'>;

/** Put summaries into the table, leaving out live trigger e-mails (docs/spec.md §8: never listed or synced). */
function track(ctx: TrackingContext, page: DesktopSummary[]): void {
  ctx.store.transaction(() => {
    for (const s of page) if (!ctx.triggers.isLive(s)) ctx.store.putInboxEntry(s);
  });
  ctx.progress({ stage: 'listing', done: ctx.store.inboxCount(), total: null });
}

/** Fetch and track the UIDs of `uids` the table does not hold yet. */
async function trackUids(ctx: TrackingContext, uids: number[]): Promise<number> {
  const known = new Set(ctx.store.inboxUids());
  const fresh = uids.filter((uid) => !known.has(uid));
  if (fresh.length === 0) return 0;
  return ctx.imap.summariesOf('inbox', fresh, (page) => track(ctx, page));
}

/** With `unreadFirst`: every unread message is tracked (an old unread one outranks every read one). */
async function trackUnread(ctx: TrackingContext): Promise<void> {
  await trackUids(ctx, await ctx.imap.searchUids('inbox', { unseen: true }));
}

/**
 * Lower the floor until at least `target` messages sit above it, or the whole
 * INBOX is tracked. Each step reaches back to an earlier day (×4 each step)
 * and, of the messages since then that are not tracked yet:
 *
 * - where the server sorts: asks for them newest first (SORT REVERSE
 *   ARRIVAL) and fetches summaries of the first `target` and a few more; the
 *   floor goes just above the last one fetched;
 * - elsewhere, and where the server advertises SORT and refuses it (stock
 *   Courier, issue 18): lists their arrival times (INTERNALDATE and flags, no header
 *   fields), puts the floor at the `target`-th newest, and fetches summaries
 *   of what is above it.
 *
 * Any floor at or above what the search reached keeps the rule
 * (window-floor.ts), and a higher one tracks less.
 */
async function extend(ctx: TrackingContext, target: number): Promise<void> {
  const { store, imap, options } = ctx;
  const exists = store.folderState('inbox')?.exists ?? Number.POSITIVE_INFINITY;
  let floor = store.inboxFloor();
  // Where to start: the arrival time of the message `target` places from the newest by arrival order.
  const start = floor === Number.POSITIVE_INFINITY && exists > 2 * target ? await imap.dateAtSequence('inbox', exists - target + 1) : floor;
  for (let step = 0; floor > 0 && store.inboxCountAbove(floor, options.unreadFirst) < target; step++) {
    const day = start === undefined || exists <= 2 * target ? undefined : widenedSinceDay(sinceDayFor(Math.min(start, Date.now())), step);
    // A small INBOX, or a search reaching back to 1970: list it all (few messages, or none older).
    const everything = day === undefined || day < FULL_LISTING_BEFORE;
    const reached = everything ? 0 : Math.min(floor, floorAfterSince(day));
    const since = everything ? undefined : new Date(day);
    // Sorted where the server sorts; listed where it does not, or refuses to (it is remembered: imap/fallbacks.ts).
    const sorted = imap.canSort && !options.unreadFirst ? await extendSorted(ctx, target, reached, since) : undefined;
    floor = sorted ?? (await extendListed(ctx, target, reached, since));
    store.transaction(() => store.setInboxFloor(floor));
    ctx.log.debug('INBOX tracking extended', { since: since?.toISOString() ?? 'all', floor: new Date(floor).toISOString(), tracked: store.inboxCount() });
  }
}

/** Summaries of as many of the sorted UIDs as it takes; the floor just above the last one fetched (undefined: the server refused SORT). */
async function extendSorted(ctx: TrackingContext, target: number, reached: number, since: Date | undefined): Promise<number | undefined> {
  const { store, imap } = ctx;
  const sorted = await imap.sortedByArrival('inbox', since);
  if (sorted === undefined) return undefined;
  // A few more than the target: ties at the floor's second and \Deleted messages do not count.
  for (let take = target + 32; ; take *= 2) {
    const top = sorted.slice(0, take);
    await trackUids(ctx, top);
    if (top.length === sorted.length) return reached;
    const last = store.inboxEntry(top[top.length - 1]!);
    // Every message sorted after the last one fetched arrived no later than it, so before this floor.
    const floor = last ? Math.max(reached, last.date + 1) : reached;
    if (store.inboxCountAbove(floor, false) >= target) return floor;
  }
}

/** Arrival times first, then summaries of the messages above the floor they give. */
async function extendListed(ctx: TrackingContext, target: number, reached: number, since: Date | undefined): Promise<number> {
  const { store, imap, options } = ctx;
  const found = await imap.searchUids('inbox', since ? { since } : { all: true });
  const known = new Set(store.inboxUids());
  const fresh = await imap.datesOf('inbox', found.filter((uid) => !known.has(uid)));
  const counts = (m: { date: number; seen: boolean }) => (options.unreadFirst && !m.seen ? Number.POSITIVE_INFINITY : m.date);
  const counting = [...store.inboxCounting(reached, options.unreadFirst), ...fresh.filter((m) => !m.deleted && (m.date >= reached || counts(m) === Number.POSITIVE_INFINITY)).map(counts)];
  const floor = floorFor(reached, target, counting);
  await imap.summariesOf(
    'inbox',
    fresh.filter((m) => m.date >= floor || counts(m) === Number.POSITIVE_INFINITY).map((m) => m.uid),
    (page) => track(ctx, page),
  );
  return floor;
}

/** Raise the floor so about `target` messages sit above it, and drop the rows below it nothing refers to. */
function prune(ctx: TrackingContext, target: number): void {
  const { store, options } = ctx;
  const date = store.inboxDateAt(target);
  const floor = store.inboxFloor();
  if (date === undefined || date <= floor) return;
  const dropped = store.transaction(() => {
    store.setInboxFloor(date);
    return store.untrackBelow(date, options.unreadFirst);
  });
  ctx.log.info('tracking fewer old INBOX messages', { dropped, tracked: store.inboxCount() });
}

/**
 * Make the table cover the window (run before normalization and pull, and by
 * the initial sync before pairing): every message of the INBOX's top W is in
 * it, and it holds O(W) rows besides mapped ones.
 */
export async function coverWindow(ctx: TrackingContext): Promise<void> {
  const { store, options } = ctx;
  if (options.unreadFirst) await trackUnread(ctx);
  const target = coverTarget(options.window);
  const floor = store.inboxFloor();
  const above = floor > 0 ? store.inboxCountAbove(floor, options.unreadFirst) : Number.POSITIVE_INFINITY;
  if (above < options.window) await extend(ctx, target);
  else if (floor > 0 && above > pruneThreshold(options.window)) prune(ctx, target);
  else if (floor === 0 && store.inboxCount() > pruneThreshold(options.window)) prune(ctx, target);
}

/** Start tracking from nothing (initial sync): the folder state now, then the window's cover. */
export async function trackInboxFromScratch(ctx: TrackingContext): Promise<DesktopSummary[]> {
  const { store, imap } = ctx;
  const opened = await imap.open('inbox');
  store.transaction(() => {
    store.clearInbox();
    store.setInboxFloor(Number.POSITIVE_INFINITY);
    store.setFolderState('inbox', { uidValidity: opened.uidValidity, highestModseq: opened.highestModseq, uidNext: opened.uidNext, exists: opened.exists });
  });
  if (opened.exists === 0) {
    store.transaction(() => store.setInboxFloor(0));
    return [];
  }
  await coverWindow(ctx);
  return store.inboxEntries();
}
