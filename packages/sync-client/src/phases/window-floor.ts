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

/** How many messages to have above the floor after lowering it: the window and a margin, so the next syncs need not lower it again. */
export function coverTarget(window: number): number {
  return window + Math.ceil(window / 2) + 20;
}

/** Above this many messages over the floor, the floor goes up and old rows are dropped. */
export function pruneThreshold(window: number): number {
  return 4 * coverTarget(window) + 1000;
}
