import { describe, expect, it } from 'vitest';
import { SyncScheduler, type SyncReason } from './scheduler.js';

function deferred() {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}

describe('SyncScheduler', () => {
  it('runs one sync at a time and folds a burst of requests into one follow-up', async () => {
    const gates: ReturnType<typeof deferred>[] = [];
    const runs: SyncReason[] = [];
    const scheduler = new SyncScheduler(async (reason) => {
      runs.push(reason);
      const gate = deferred();
      gates.push(gate);
      await gate.promise;
      return runs.length;
    });
    const done: { reason: SyncReason; coalesced: number; reasons: SyncReason[] }[] = [];
    scheduler.on('synced', ({ reason, coalesced, reasons }) => done.push({ reason, coalesced, reasons }));

    scheduler.request('startup');
    for (let i = 0; i < 10; i++) scheduler.request('trigger');
    scheduler.request('push');
    expect(runs).toEqual(['startup']);
    gates[0]!.resolve();
    await new Promise((r) => setImmediate(r));
    expect(runs).toEqual(['startup', 'trigger']);
    gates[1]!.resolve();
    await scheduler.stop();
    expect(done).toEqual([
      { reason: 'startup', coalesced: 0, reasons: ['startup'] },
      { reason: 'trigger', coalesced: 10, reasons: [...Array(10).fill('trigger'), 'push'] },
    ]);
  });

  it('reports a failed sync and keeps going', async () => {
    let n = 0;
    const scheduler = new SyncScheduler(async () => {
      if (++n === 1) throw new Error('boom');
      return n;
    });
    const events: string[] = [];
    scheduler.on('failed', ({ error }) => events.push(`failed ${(error as Error).message}`));
    scheduler.on('synced', ({ result }) => events.push(`synced ${result}`));
    scheduler.request('manual');
    scheduler.request('manual');
    await new Promise((r) => setTimeout(r, 10));
    await scheduler.stop();
    expect(events).toEqual(['failed boom', 'synced 2']);
  });
});
