/**
 * The conflict rules of docs/spec.md §6, each with the same message changed on both
 * sides between two syncs, and the fingerprint match of docs/spec.md §3.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { agentRows, desktopMessage, expectWindowInvariant } from '../helpers/invariant.js';
import { TwinboxSystem } from '@twinbox/testkit';

const minutes = (n: number) => new Date(Date.UTC(2024, 5, 1, 12, 0) + n * 60_000);

describe('conflicting changes between two syncs', () => {
  let system: TwinboxSystem;
  beforeAll(async () => {
    system = await TwinboxSystem.start({ window: 10 });
    for (let i = 1; i <= 8; i++) await system.desktop.deliver({ label: `M${i}`, date: minutes(-i) });
    await system.sync();
  });
  afterAll(async () => system?.stop());

  it('destroy beats everything: destroyed on one side, flagged or recovered on the other', async () => {
    const phone = system.phone();
    await system.desktop.destroy('M1', 'INBOX');
    await phone.flag(await system.phoneId('M1'));
    await phone.trash(await system.phoneId('M2'));
    await phone.destroy(await system.phoneId('M2'));
    await system.desktop.setFlag('M2', '\\Seen', true);
    await system.sync();
    expect(await desktopMessage(system, 'M1')).toBeUndefined();
    expect(await desktopMessage(system, 'M2')).toBeUndefined();
    expect(await desktopMessage(system, 'M2', 'Trash')).toBeUndefined();
    expect(await system.phoneLabels()).not.toContain('M1');
    expect(await system.phoneLabels('trash')).toEqual([]);
    await expectWindowInvariant(system, 10);
  });

  it('trash beats flag changes, whichever side trashed', async () => {
    await system.desktop.move('M3', 'INBOX', 'Trash');
    await system.phone().flag(await system.phoneId('M3'));
    await system.phone().trash(await system.phoneId('M4'));
    await system.desktop.setFlag('M4', '\\Seen', true);
    await system.sync();
    expect((await system.desktop.labels('Trash')).sort()).toEqual(['M3', 'M4']);
    expect((await system.phoneLabels('trash')).sort()).toEqual(['M3', 'M4']);
    await expectWindowInvariant(system, 10);
  });

  it('flags merge: different flags both apply; a change back to the start is no change', async () => {
    const phone = system.phone();
    await system.desktop.setFlag('M5', '\\Seen', true);
    await phone.flag(await system.phoneId('M5'));
    // Phone reads M6 and marks it unread again (no change); the desktop flags it.
    await phone.markRead(await system.phoneId('M6'));
    await phone.markUnread(await system.phoneId('M6'));
    await system.desktop.setFlag('M6', '\\Flagged', true);
    // Both sides read M7.
    await system.desktop.setFlag('M7', '\\Seen', true);
    await phone.markRead(await system.phoneId('M7'));
    const summary = await system.sync();
    expect(await desktopMessage(system, 'M5')).toMatchObject({ seen: true, flagged: true });
    expect(await desktopMessage(system, 'M6')).toMatchObject({ seen: false, flagged: true });
    expect(await desktopMessage(system, 'M7')).toMatchObject({ seen: true, flagged: false });
    // M6's read/unread pair and M7's read (already agreed) are coalesced away: only M5's flag crosses.
    expect(summary.serverActions).toBe(1);
    await expectWindowInvariant(system, 10);
  });

  it('moved out and back between two syncs (trashed and recovered, or the reverse): still the same phone message, the phone\'s change kept', async () => {
    const ids = { M5: await system.phoneId('M5'), M3: await system.phoneId('M3') };
    await system.desktop.move('M5', 'INBOX', 'Trash');
    await system.desktop.move('M5', 'Trash', 'INBOX');
    await system.phone().markUnread(ids.M5);
    await system.desktop.move('M3', 'Trash', 'INBOX');
    await system.desktop.move('M3', 'INBOX', 'Trash');
    await system.phone().markRead(ids.M3);
    await system.sync();
    expect([await system.phoneId('M5'), await system.phoneId('M3')]).toEqual([ids.M5, ids.M3]);
    expect(await desktopMessage(system, 'M5')).toMatchObject({ seen: false, flagged: true });
    expect(await desktopMessage(system, 'M3', 'Trash')).toMatchObject({ seen: true });
    expect((await system.phoneLabels('trash')).sort()).toEqual(['M3', 'M4']);
    await expectWindowInvariant(system, 10);
  });

  it('trashed and recovered on the phone is no change: alone the message stays; against a desktop trash, the desktop\'s trash stands', async () => {
    const phone = system.phone();
    await phone.trash(await system.phoneId('M6'));
    await phone.recover(await system.phoneId('M6'));
    expect((await system.sync()).serverActions).toBe(1); // the recover, a no-op on the desktop
    expect(await system.desktop.folderOf('M6')).toBe('INBOX');

    await phone.trash(await system.phoneId('M7'));
    await phone.recover(await system.phoneId('M7'));
    await system.desktop.move('M7', 'INBOX', 'Trash');
    await system.sync();
    expect(await system.desktop.folderOf('M7')).toBe('Trash');
    expect((await system.phoneLabels('trash')).sort()).toEqual(['M3', 'M4', 'M7']);
    await expectWindowInvariant(system, 10);
  });

  it('an action about a message the other side no longer has is acknowledged as gone, not an error', async () => {
    // The desktop destroys M8 while the phone marks it read: the phone's markRead meets no message.
    await system.desktop.destroy('M8', 'INBOX');
    await system.phone().markRead(await system.phoneId('M8'));
    const summary = await system.sync();
    expect(summary.mode).toBe('update');
    expect(await system.store.actions.count('user1')).toBe(0);
    expect(agentRows(system, 'SELECT * FROM actions')).toEqual([]);
    await expectWindowInvariant(system, 10);
  });
});

describe('the same message on both sides before the first sync (fingerprint match)', () => {
  for (const policy of ['desktop', 'phone'] as const) {
    it(`is stored once on each side; differing flags follow the ${policy} (conflict policy ${policy})`, async () => {
      const system = await TwinboxSystem.start({ window: 5, conflictPolicy: policy });
      try {
        const shared = { label: 'S1', date: minutes(-1), messageId: '<shared-1@twinbox.test>' };
        await system.desktop.deliver({ ...shared, seen: true });
        await system.phoneDeliver({ ...shared, flagged: true });
        // Without a Message-ID the fingerprint hashes date, from, subject and size.
        const bare = { label: 'S2', date: minutes(-2), messageId: null };
        await system.desktop.deliver(bare);
        await system.phoneDeliver(bare);
        await system.desktop.deliver({ label: 'D1', date: minutes(-3) });
        await system.phoneDeliver({ label: 'P1', date: minutes(-4) });

        const summary = await system.sync();
        expect(summary.insertedOnDesktop).toBe(1);
        expect(await system.desktop.labels()).toEqual(['S1', 'S2', 'D1', 'P1']);
        expect(await system.phoneLabels()).toEqual(['S1', 'S2', 'D1', 'P1']);
        const expected = policy === 'desktop' ? { seen: true, flagged: false } : { seen: false, flagged: true };
        expect(await desktopMessage(system, 'S1')).toMatchObject(expected);
        expect(await system.phone().get(await system.phoneId('S1'))).toMatchObject(expected);
        await expectWindowInvariant(system, 5);
      } finally {
        await system.stop();
      }
    });
  }

  it('in the desktop Trash and the phone Inbox: the desktop policy trashes it on the phone', async () => {
    const system = await TwinboxSystem.start({ window: 5 });
    try {
      const shared = { label: 'T1', date: minutes(-1), messageId: '<shared-t1@twinbox.test>' };
      await system.desktop.deliver(shared, 'Trash');
      await system.phoneDeliver(shared);
      await system.sync();
      expect(await system.desktop.labels('INBOX')).toEqual([]);
      expect(await system.desktop.labels('Trash')).toEqual(['T1']);
      expect(await system.phoneLabels()).toEqual([]);
      expect(await system.phoneLabels('trash')).toEqual(['T1']);
    } finally {
      await system.stop();
    }
  });
});
