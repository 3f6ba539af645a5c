/**
 * The arithmetic of the tracking floor (inbox-tracking.ts), pure.
 *
 * IMAP SEARCH SINCE compares a message's INTERNALDATE by date only,
 * "disregarding time and timezone" (RFC 3501 §6.4.4): servers take the date
 * in the message's own zone or in theirs, anywhere from UTC−12 to UTC+14. So
 * for a UTC day D:
 *
 * - every message that arrived at or after D 12:00 UTC matches SINCE D
 *   (its local date is D or later in every zone) — `sinceDayFor`;
 * - a message that does not match SINCE D arrived before D 12:00 UTC
 *   (its local date is before D, and no zone is behind UTC by more than
 *   12 hours) — `floorAfterSince`.
 */
export const DAY_MS = 86_400_000;
const HALF_DAY_MS = DAY_MS / 2;

/** Searches reaching back before this list the whole folder instead (1971-01-01). */
export const FULL_LISTING_BEFORE = Date.UTC(1971, 0, 1);

/** The UTC day (as ms at midnight) to SEARCH SINCE so that every message arrived at or after `t` matches. */
export function sinceDayFor(t: number): number {
  return Math.floor((t - HALF_DAY_MS) / DAY_MS) * DAY_MS;
}

/** After tracking everything that matches SINCE `day`: every untracked message arrived before this. */
export function floorAfterSince(day: number): number {
  return day + HALF_DAY_MS;
}

/** The day to search from at the n-th widening (0, then 3, 15, 63, … days earlier: ×4 each step). */
export function widenedSinceDay(firstDay: number, step: number): number {
  return firstDay - (4 ** step - 1) * DAY_MS;
}

/** How many messages to have above the floor after lowering it: the window and a margin (a quarter of it, at most 50), so the next syncs need not lower it again. */
export function coverTarget(window: number): number {
  return window + Math.min(Math.ceil(window / 4), 50) + 10;
}

/** Above this many messages over the floor, the floor goes up and old rows are dropped. */
export function pruneThreshold(window: number): number {
  return 4 * coverTarget(window) + 1000;
}

/**
 * After a search reached down to `reached` (every message that arrived at or
 * after it is now known), the floor to keep: the arrival time of the
 * `target`-th newest message that counts, or `reached` when there are fewer.
 * Any floor at or above `reached` keeps the rule, and a higher one tracks
 * less. `counting` are the arrival times of the messages that count (not
 * \\Deleted); an unread one under `unreadFirst` counts whatever its date, as
 * Infinity, and the floor then only needs the read ones that make up the rest.
 */
export function floorFor(reached: number, target: number, counting: number[]): number {
  const sorted = [...counting].sort((a, b) => b - a);
  const unreadFirst = sorted.filter((d) => d === Number.POSITIVE_INFINITY).length;
  const dated = sorted.slice(unreadFirst);
  const needed = target - unreadFirst;
  if (needed <= 0) return Math.max(reached, dated[0] ?? reached);
  return dated.length >= needed ? Math.max(reached, dated[needed - 1]!) : reached;
}
