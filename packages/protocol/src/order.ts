/**
 * The virtual mailbox order (docs/spec.md §2): arrival time (IMAP INTERNALDATE, which
 * has one-second precision) newest first, ties broken by UID newest first; with
 * `unreadFirst`, unread messages before read ones. Both sides sort with this
 * one function so the phone shows its Inbox exactly in the desktop's order.
 */
export interface Orderable {
  /** Arrival time, ms since the epoch. */
  date: number;
  seen: boolean;
  /** Desktop UID, or another increasing arrival counter where no UID is known yet. */
  tiebreak: number;
}

export function compareVirtualOrder(a: Orderable, b: Orderable, unreadFirst: boolean): number {
  if (unreadFirst && a.seen !== b.seen) return a.seen ? 1 : -1;
  const seconds = Math.floor(b.date / 1000) - Math.floor(a.date / 1000);
  if (seconds !== 0) return seconds;
  return b.tiebreak - a.tiebreak;
}
