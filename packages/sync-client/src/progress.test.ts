import { describe, expect, it } from 'vitest';
import { progressBar, throttled, type Progress } from './progress.js';

describe('sync progress', () => {
  it('says nothing for a short sync, then stage boundaries and at most one update per interval', () => {
    let t = 0;
    const seen: Progress[] = [];
    const sink = throttled((p) => seen.push(p), { quietMs: 1000, everyMs: 500 }, () => t);
    sink({ stage: 'pulling', done: 1, total: 100 });
    expect(seen).toEqual([]);
    t = 1000;
    sink({ stage: 'pulling', done: 10, total: 100 });
    t = 1100;
    sink({ stage: 'pulling', done: 20, total: 100 });
    t = 1600;
    sink({ stage: 'pulling', done: 60, total: 100 });
    t = 1650;
    sink({ stage: 'pulling', done: 100, total: 100 });
    sink({ stage: 'applying', done: 1, total: null });
    expect(seen.map((p) => `${p.stage} ${p.done}`)).toEqual(['pulling 10', 'pulling 60', 'pulling 100', 'applying 1']);
  });

  it('draws a bar, or a count where the total is unknown', () => {
    expect(progressBar({ stage: 'pulling', done: 175, total: 500 }, 20)).toBe('[#######.............]  35%  175/500  pulling messages to the phone');
    expect(progressBar({ stage: 'applying', done: 12, total: null }, 4)).toBe('[....]  12  applying phone changes');
  });
});
