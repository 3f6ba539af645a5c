import { describe, expect, it } from 'vitest';
import { Backoff } from './backoff.js';

describe('Backoff', () => {
  it('doubles up to the cap, with jitter in the upper half', () => {
    const low = new Backoff({ initialMs: 100, maxMs: 1000, random: () => 0 });
    expect([1, 2, 3, 4, 5, 6].map(() => low.next())).toEqual([50, 100, 200, 400, 500, 500]);
    const high = new Backoff({ initialMs: 100, maxMs: 1000, random: () => 1 });
    expect([1, 2, 3, 4, 5].map(() => high.next())).toEqual([100, 200, 400, 800, 1000]);
  });

  it('resets only after a connection stayed up long enough', () => {
    const b = new Backoff({ initialMs: 100, maxMs: 10_000, stableMs: 1000, random: () => 1 });
    b.next();
    b.next();
    b.connected(0);
    b.disconnected(500);
    expect(b.next()).toBe(400);
    b.connected(1000);
    b.disconnected(2500);
    expect(b.next()).toBe(100);
  });
});
