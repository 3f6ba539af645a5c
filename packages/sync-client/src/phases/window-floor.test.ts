import { describe, expect, it } from 'vitest';
import { DAY_MS, coverTarget, floorAfterSince, floorFor, pruneThreshold, sinceDayFor, widenedSinceDay } from './window-floor.js';

/** The local date (as a UTC-midnight ms) of instant `t` in a zone `offsetHours` from UTC. */
const localDay = (t: number, offsetHours: number) => Math.floor((t + offsetHours * 3_600_000) / DAY_MS) * DAY_MS;
const zones = [-12, -8, -3.5, 0, 5.75, 9, 12, 14];

describe('window floor', () => {
  it('SINCE sinceDayFor(t) matches every message at or after t, in every zone', () => {
    for (const t of [Date.UTC(2026, 10, 22, 0, 0, 0), Date.UTC(2026, 10, 22, 11, 59, 59), Date.UTC(2026, 10, 22, 12, 0, 0), Date.UTC(2026, 10, 22, 23, 59, 59)]) {
      const day = sinceDayFor(t);
      for (const offset of zones) for (const later of [t, t + 1000, t + DAY_MS]) expect(localDay(later, offset) >= day).toBe(true);
    }
  });

  it('a message not matching SINCE day arrived before floorAfterSince(day), in every zone', () => {
    const day = Date.UTC(2026, 10, 22);
    const floor = floorAfterSince(day);
    // The latest instants whose local date is before `day`, per zone, all fall below the floor.
    for (const offset of zones) {
      const lastBefore = day - offset * 3_600_000 - 1000;
      expect(localDay(lastBefore, offset) < day).toBe(true);
      expect(lastBefore < floor).toBe(true);
    }
  });

  it('after a SINCE search from sinceDayFor(t), the floor is at or below t (progress is never lost)', () => {
    for (const t of [Date.UTC(2026, 0, 1, 3), Date.UTC(2026, 0, 1, 13), Date.UTC(2026, 0, 1, 23, 59)]) expect(floorAfterSince(sinceDayFor(t))).toBeLessThanOrEqual(t);
  });

  it('widens ×4 each step', () => {
    const first = Date.UTC(2026, 0, 31);
    expect([0, 1, 2, 3].map((s) => (first - widenedSinceDay(first, s)) / DAY_MS)).toEqual([0, 3, 15, 63]);
  });

  it('keeps a margin above the window and prunes well above it', () => {
    expect(coverTarget(50)).toBe(73);
    expect(coverTarget(500)).toBe(560);
    expect(pruneThreshold(50)).toBeGreaterThan(3 * coverTarget(50));
  });
});

describe('floorFor', () => {
  const reached = 1000;
  it('keeps the target-th newest, never below what the search reached', () => {
    expect(floorFor(reached, 3, [5000, 4000, 3000, 2000, 1500])).toBe(3000);
    expect(floorFor(reached, 3, [5000, 4000])).toBe(reached);
    expect(floorFor(reached, 2, [5000, 5000, 900])).toBe(5000);
  });
  it('under unreadFirst, unread messages count whatever their date', () => {
    const unread = Number.POSITIVE_INFINITY;
    expect(floorFor(reached, 3, [unread, unread, 5000, 4000])).toBe(5000);
    expect(floorFor(reached, 2, [unread, unread, unread, 4000])).toBe(4000);
    expect(floorFor(reached, 2, [unread, unread])).toBe(reached);
  });
});
