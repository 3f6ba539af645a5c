/**
 * Every action type in both directions (docs/spec.md §4), each checked on both
 * mailboxes after a real sync: insert, markRead, markUnread, flag, unflag,
 * trash, recover, destroy, and unmap (eviction from the window).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { desktopMessage, expectWindowInvariant } from '../helpers/invariant.js';
import { TwinboxSystem } from '@twinbox/testkit';

const minutes = (n: number) => new Date(Date.UTC(2024, 4, 1, 12, 0) + n * 60_000);

async function phoneMessage(system: TwinboxSystem, label: string) {
  return [...(await system.phone().inbox()), ...(await system.phone().trashFolder())].find((m) => m.subject === label);
}

for (const qresync of [true, false]) {
describe(`actions from the desktop to the phone (changes found by ${qresync ? 'QRESYNC' : 'comparison with the inbox state'})`, () => {
  let system: TwinboxSystem;
  beforeAll(async () => {
    system = await TwinboxSystem.start({ window: 4, qresync });
    for (let i = 1; i <= 6; i++) await system.desktop.deliver({ label: `D${i}`, date: minutes(-i) });
    await system.sync();
  });
  afterAll(async () => system?.stop());

  it('insert: new desktop mail enters the window and evicts the oldest (unmap, kept on the desktop)', async () => {
    expect(await system.phoneLabels()).toEqual(['D1', 'D2', 'D3', 'D4']);
    await system.desktop.deliver({ label: 'D0', date: minutes(0) });
    const summary = await system.sync();
    expect(summary.pulled).toBe(1);
    expect(summary.unmapped).toBe(1);
    expect(summary.detection.method).toBe(qresync ? 'qresync' : 'compare');
    expect(await system.phoneLabels()).toEqual(['D0', 'D1', 'D2', 'D3']);
    expect(await system.desktop.labels()).toContain('D4');
    await expectWindowInvariant(system, 4);
  });

  it('markRead, flag, then markUnread, unflag', async () => {
    await system.desktop.setFlag('D1', '\\Seen', true);
    await system.desktop.setFlag('D2', '\\Flagged', true);
    await system.sync();
    expect(await phoneMessage(system, 'D1')).toMatchObject({ seen: true, flagged: false });
    expect(await phoneMessage(system, 'D2')).toMatchObject({ seen: false, flagged: true });
    await system.desktop.setFlag('D1', '\\Seen', false);
    await system.desktop.setFlag('D2', '\\Flagged', false);
    await system.sync();
    expect(await phoneMessage(system, 'D1')).toMatchObject({ seen: false, flagged: false });
    expect(await phoneMessage(system, 'D2')).toMatchObject({ seen: false, flagged: false });
    await expectWindowInvariant(system, 4);
  });

  it('trash, recover, destroy', async () => {
    await system.desktop.move('D2', 'INBOX', 'Trash');
    await system.sync();
    expect(await system.phoneLabels('trash')).toEqual(['D2']);
    expect(await system.phoneLabels()).toEqual(['D0', 'D1', 'D3', 'D4']);

    await system.desktop.move('D2', 'Trash', 'INBOX');
    await system.sync();
    expect(await system.phoneLabels('trash')).toEqual([]);
    expect(await system.phoneLabels()).toEqual(['D0', 'D1', 'D2', 'D3']);

    await system.desktop.move('D3', 'INBOX', 'Trash');
    await system.sync();
    await system.desktop.destroy('D3', 'Trash');
    await system.desktop.destroy('D1', 'INBOX');
    await system.sync();
    expect(await phoneMessage(system, 'D3')).toBeUndefined();
    expect(await phoneMessage(system, 'D1')).toBeUndefined();
    expect(await system.phoneLabels()).toEqual(['D0', 'D2', 'D4', 'D5']);
    await expectWindowInvariant(system, 4);
  });

  it('flags changed before a move to Trash, and in Trash, reach the phone\'s Trash copy (found by the random-use model test)', async () => {
    await system.desktop.setFlag('D4', '\\Seen', true);
    await system.desktop.move('D4', 'INBOX', 'Trash');
    await system.sync();
    expect(await phoneMessage(system, 'D4')).toMatchObject({ folder: 'trash', seen: true, flagged: false });

    await system.desktop.setFlag('D4', '\\Flagged', true, 'Trash');
    await system.desktop.setFlag('D4', '\\Seen', false, 'Trash');
    const summary = await system.sync();
    expect(summary.agentActions).toBe(2);
    expect(await phoneMessage(system, 'D4')).toMatchObject({ folder: 'trash', seen: false, flagged: true });
    expect((await system.sync()).agentActions).toBe(0);
  });
});
}

describe('actions from the phone to the desktop', () => {
  let system: TwinboxSystem;
  beforeAll(async () => {
    system = await TwinboxSystem.start({ window: 4 });
    for (let i = 1; i <= 5; i++) await system.desktop.deliver({ label: `D${i}`, date: minutes(-i) });
    await system.sync();
  });
  afterAll(async () => system?.stop());

  it('insert: mail delivered to the phone lands in the desktop INBOX with its phone arrival time', async () => {
    await system.phoneDeliver({ label: 'P1', date: minutes(5) });
    const summary = await system.sync();
    expect(summary.insertedOnDesktop).toBe(1);
    const p1 = await desktopMessage(system, 'P1');
    expect(p1?.date).toBe(minutes(5).getTime());
    expect(await system.phoneLabels()).toEqual(['P1', 'D1', 'D2', 'D3']);
    await expectWindowInvariant(system, 4);
  });

  it('markRead, flag, then markUnread, unflag', async () => {
    const phone = system.phone();
    await phone.markRead(await system.phoneId('D1'));
    await phone.flag(await system.phoneId('D2'));
    await system.sync();
    expect(await desktopMessage(system, 'D1')).toMatchObject({ seen: true, flagged: false });
    expect(await desktopMessage(system, 'D2')).toMatchObject({ seen: false, flagged: true });
    await phone.markUnread(await system.phoneId('D1'));
    await phone.unflag(await system.phoneId('D2'));
    await system.sync();
    expect(await desktopMessage(system, 'D1')).toMatchObject({ seen: false, flagged: false });
    expect(await desktopMessage(system, 'D2')).toMatchObject({ seen: false, flagged: false });
  });

  it('trash, recover, destroy', async () => {
    const phone = system.phone();
    await phone.trash(await system.phoneId('D2'));
    await system.sync();
    expect(await system.desktop.labels('Trash')).toEqual(['D2']);
    expect(await system.phoneLabels()).toEqual(['P1', 'D1', 'D3', 'D4']);

    await phone.recover(await system.phoneId('D2'));
    await system.sync();
    expect(await system.desktop.labels('Trash')).toEqual([]);
    expect(await system.phoneLabels()).toEqual(['P1', 'D1', 'D2', 'D3']);

    await phone.destroy(await system.phoneId('D1'));
    await system.sync();
    expect(await desktopMessage(system, 'D1')).toBeUndefined();
    expect(await desktopMessage(system, 'D1', 'Trash')).toBeUndefined();
    expect(await system.phoneLabels()).toEqual(['P1', 'D2', 'D3', 'D4']);
    await expectWindowInvariant(system, 4);
  });
});
