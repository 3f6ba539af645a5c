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

  it('a run that throws before returning a promise is a failed sync, and the next request still runs', async () => {
    let n = 0;
    const scheduler = new SyncScheduler((reason) => {
      n++;
      if (n === 1) throw new Error('thrown at once');
      return Promise.resolve(reason);
    });
    const failed: unknown[] = [];
    scheduler.on('failed', ({ error }) => failed.push((error as Error).message));
    scheduler.request('startup');
    await scheduler.idle();
    expect(failed).toEqual(['thrown at once']);
    await expect(scheduler.requestAndWait('manual')).resolves.toBe('manual');
    await scheduler.stop();
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

describe('SyncScheduler: asking and hearing the outcome', () => {
  it('answers a request made during a sync with the follow-up sync, not the one under way', async () => {
    const gates: ReturnType<typeof deferred>[] = [];
    let n = 0;
    const scheduler = new SyncScheduler(async () => {
      const gate = deferred();
      gates.push(gate);
      await gate.promise;
      n++;
      if (n === 2) throw new Error('server down');
      return n;
    });
    const first = scheduler.requestAndWait('manual');
    const second = scheduler.requestAndWait('manual');
    const third = scheduler.requestAndWait('push');
    gates[0]!.resolve();
    expect(await first).toBe(1);
    await new Promise((r) => setImmediate(r));
    gates[1]!.resolve();
    await expect(second).rejects.toThrow('server down');
    await expect(third).rejects.toThrow('server down');
    await scheduler.idle();
    expect(scheduler.busy).toBe(false);
  });

  it('tells a queued request the agent stopped (BUSY, retryable) instead of leaving it waiting', async () => {
    const gate = deferred();
    const scheduler = new SyncScheduler(async () => {
      await gate.promise;
      return 1;
    });
    const first = scheduler.requestAndWait('startup');
    const queued = scheduler.requestAndWait('manual');
    const stopping = scheduler.stop();
    await expect(queued).rejects.toMatchObject({ code: 'BUSY', retryable: true });
    gate.resolve();
    await stopping;
    expect(await first).toBe(1);
    await expect(scheduler.requestAndWait('manual')).rejects.toMatchObject({ code: 'BUSY' });
  });
});
