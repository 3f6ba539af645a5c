import { describe, expect, it } from 'vitest';
import { percentile, phaseReport, seededRandom, type SessionRecord } from './load-stats.js';

const session = (ms: number, ok = true, code?: string): SessionRecord => ({
  account: 'a',
  kind: 'update',
  ok,
  ms,
  connectMs: 10,
  bytesSent: 100,
  bytesReceived: 300,
  agentActions: 2,
  serverActions: 1,
  ...(code ? { code } : {}),
});

describe('load report figures (issue 22)', () => {
  it('takes percentiles by nearest rank', () => {
    const values = Array.from({ length: 100 }, (_, i) => i + 1);
    expect(percentile(values, 50)).toBe(50);
    expect(percentile(values, 95)).toBe(95);
    expect(percentile([7], 95)).toBe(7);
    expect(percentile([], 50)).toBe(0);
  });

  it('counts sessions per second over the wall time, times of completed sessions only, failures by code', () => {
    const report = phaseReport([session(100), session(300), session(200), session(5000, false, 'BUSY'), session(1, false, 'BUSY')], 2000);
    expect(report).toMatchObject({ sessions: 3, failed: 2, failures: { BUSY: 2 }, sessionsPerSecond: 1.5, p50Ms: 200, p95Ms: 300, maxMs: 300, meanBytesPerSession: 400, agentActions: 6 });
  });

  it('repeats its random choices for the same seed', () => {
    const a = seededRandom(22);
    const b = seededRandom(22);
    const xs = Array.from({ length: 5 }, () => a());
    expect(xs).toEqual(Array.from({ length: 5 }, () => b()));
    expect(xs.every((x) => x >= 0 && x < 1)).toBe(true);
  });
});
