/**
 * The patent's worked example (paragraphs 0076–0084), with real processes:
 * W = 6, desktop INBOX C1…C10, a phone Inbox of five messages (one dated
 * between C2 and C3, four older than C10). Where the patent's tables
 * contradict themselves, docs/spec.md decides: the window holds the top W of the
 * desktop order, and evicted messages stay on the desktop.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectWindowInvariant } from '../helpers/invariant.js';
import { TwinboxSystem } from '@twinbox/testkit';

const at = (hhmm: string) => new Date(`2024-03-01T${hhmm}:00Z`);
const C = ['10:00', '09:50', '09:40', '09:30', '09:20', '09:10', '09:00', '08:50', '08:40', '08:30'];

describe('patent worked example', () => {
  let system: TwinboxSystem;

  beforeAll(async () => {
    system = await TwinboxSystem.start({ window: 6 });
    for (const [i, time] of C.entries()) await system.desktop.deliver({ label: `C${i + 1}`, date: at(time) });
    await system.phoneDeliver({ label: 'P21', date: at('09:45') });
    await system.phoneDeliver({ label: 'P54', date: at('08:00') });
    await system.phoneDeliver({ label: 'P7', date: at('07:50') });
    await system.phoneDeliver({ label: 'P14', date: at('07:40') });
    await system.phoneDeliver({ label: 'P70', date: at('07:30') });
  });

  afterAll(async () => {
    await system?.stop();
  });

  it('first sync: initial sync, normalization and pull give the top 6 on the phone', async () => {
    const summary = await system.sync();
    expect(summary.mode).toBe('initial');
    expect(summary.insertedOnDesktop).toBe(5);
    expect(await system.desktop.labels('INBOX')).toEqual(['C1', 'C2', 'P21', 'C3', 'C4', 'C5', 'C6', 'C7', 'C8', 'C9', 'C10', 'P54', 'P7', 'P14', 'P70']);
    expect(await system.phoneLabels()).toEqual(['C1', 'C2', 'P21', 'C3', 'C4', 'C5']);
    // The phone message keeps its phone arrival time as INTERNALDATE on the desktop.
    const p21 = (await system.desktop.list('INBOX')).find((m) => m.label === 'P21')!;
    expect(p21.date).toBe(at('09:45').getTime());
    await expectWindowInvariant(system, 6);
  });

  it('update sync: desktop trash + read, phone insert + trash, then both show the new top 6', async () => {
    await system.desktop.move('C1', 'INBOX', 'Trash');
    await system.desktop.setFlag('C2', '\\Seen', true);
    await system.phoneDeliver({ label: 'P129', date: at('10:30') });
    await system.phone().trash(await system.phoneId('C4'));

    const summary = await system.sync();
    expect(summary.mode).toBe('update');
    expect(await system.desktop.labels('INBOX')).toEqual(['P129', 'C2', 'P21', 'C3', 'C5', 'C6', 'C7', 'C8', 'C9', 'C10', 'P54', 'P7', 'P14', 'P70']);
    expect(await system.phoneLabels()).toEqual(['P129', 'C2', 'P21', 'C3', 'C5', 'C6']);
    expect((await system.desktop.labels('Trash')).sort()).toEqual(['C1', 'C4']);
    expect((await system.phoneLabels('trash')).sort()).toEqual(['C1', 'C4']);
    const c2 = (await system.desktop.list('INBOX')).find((m) => m.label === 'C2')!;
    expect(c2.seen).toBe(true);
    expect((await system.phone().get(await system.phoneId('C2')))!.seen).toBe(true);
    await expectWindowInvariant(system, 6);
  });

  it('a sync with no changes changes nothing and sends no actions', async () => {
    const before = { desktop: await system.desktop.labels('INBOX'), phone: await system.phoneLabels() };
    const summary = await system.sync();
    expect(summary).toMatchObject({ agentActions: 0, serverActions: 0, unmapped: 0, pulled: 0, insertedOnDesktop: 0 });
    // QRESYNC reports only what changed since the saved MODSEQ: here the echoes of
    // the previous sync's own APPEND (P129) and MOVE (C4), never the mailbox.
    expect(summary.detection.method).toBe('qresync');
    expect(summary.detection.fetched).toBeLessThanOrEqual(2);
    const quiet = await system.sync();
    expect(quiet.detection).toEqual({ method: 'qresync', fetched: 0 });
    expect(await system.desktop.labels('INBOX')).toEqual(before.desktop);
    expect(await system.phoneLabels()).toEqual(before.phone);
  });
});
