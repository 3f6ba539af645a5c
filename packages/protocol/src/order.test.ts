import { describe, expect, it } from 'vitest';
import { compareVirtualOrder } from './order.js';

describe('virtual order', () => {
  const m = (date: number, tiebreak: number, seen = false) => ({ date, tiebreak, seen });

  it('is newest first by whole seconds, then by UID newest first', () => {
    const list = [m(1000, 1), m(3000, 2), m(2000, 3), m(2500, 4)];
    expect(list.sort((a, b) => compareVirtualOrder(a, b, false)).map((x) => x.tiebreak)).toEqual([2, 4, 3, 1]);
  });

  it('puts unread first with unreadFirst', () => {
    const list = [m(3000, 1, true), m(1000, 2), m(2000, 3, true)];
    expect(list.sort((a, b) => compareVirtualOrder(a, b, true)).map((x) => x.tiebreak)).toEqual([2, 1, 3]);
  });
});
