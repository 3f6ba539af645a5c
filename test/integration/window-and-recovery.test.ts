/**
 * Window options and lost state: `unreadFirst` ordering on both sides (docs/spec.md
 * §2), and an agent whose database was deleted (docs/spec.md §3: recognised by
 * fingerprint at the next initial sync, nothing duplicated, nothing deleted).
 */
import { rmSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { TwinboxSystem } from '@twinbox/testkit';
import { expectWindowInvariant } from '../helpers/invariant.js';

const minutes = (n: number) => new Date(Date.UTC(2024, 7, 1, 12, 0) + n * 60_000);

async function unreadFirstOrder(system: TwinboxSystem): Promise<string[]> {
  const all = await system.desktop.list('INBOX');
  return [...all.filter((m) => !m.seen), ...all.filter((m) => m.seen)].map((m) => m.label);
}

describe('unreadFirst', () => {
  it('puts unread messages first on both sides, and reading one moves it out of a full window', async () => {
    const system = await TwinboxSystem.start({ window: 3, unreadFirst: true });
    try {
      await system.desktop.deliver({ label: 'R1', date: minutes(-1), seen: true });
      await system.desktop.deliver({ label: 'U2', date: minutes(-2) });
      await system.desktop.deliver({ label: 'R3', date: minutes(-3), seen: true });
      await system.desktop.deliver({ label: 'U4', date: minutes(-4) });
      await system.sync();
      expect(await system.phoneLabels()).toEqual(['U2', 'U4', 'R1']);
      expect((await unreadFirstOrder(system)).slice(0, 3)).toEqual(['U2', 'U4', 'R1']);

      // Read U2 on the phone: it drops behind the unread U4 and the newer read R1.
      await system.phone().markRead(await system.phoneId('U2'));
      await system.sync();
      expect(await system.phoneLabels()).toEqual(['U4', 'R1', 'U2']);
      expect((await unreadFirstOrder(system)).slice(0, 3)).toEqual(['U4', 'R1', 'U2']);
    } finally {
      await system.stop();
    }
  });
});

describe('agent database lost', () => {
  it('runs an initial sync that maps everything again: no duplicate, no deletion', async () => {
    const system = await TwinboxSystem.start({ window: 4 });
    try {
      for (let i = 1; i <= 6; i++) await system.desktop.deliver({ label: `D${i}`, date: minutes(-i) });
      await system.phoneDeliver({ label: 'P1', date: minutes(-2.5) });
      await system.sync();
      await system.phone().trash(await system.phoneId('D2'));
      await system.sync();
      const desktopBefore = { inbox: await system.desktop.labels('INBOX'), trash: await system.desktop.labels('Trash') };
      const phoneBefore = { inbox: await system.phoneLabels(), trash: await system.phoneLabels('trash') };

      for (const suffix of ['', '-wal', '-shm']) rmSync(`${system.agentDatabase}${suffix}`, { force: true });
      const summary = await system.sync();
      expect(summary.mode).toBe('initial');
      expect(summary.insertedOnDesktop).toBe(0);
      expect(await system.desktop.labels('INBOX')).toEqual(desktopBefore.inbox);
      expect(await system.desktop.labels('Trash')).toEqual(desktopBefore.trash);
      expect(await system.phoneLabels()).toEqual(phoneBefore.inbox);
      expect(await system.phoneLabels('trash')).toEqual(phoneBefore.trash);
      await expectWindowInvariant(system, 4);

      // And the pairing works on: a change after the recovery syncs as an update.
      await system.desktop.setFlag('D1', '\\Flagged', true);
      const next = await system.sync();
      expect(next.mode).toBe('update');
      expect((await system.phone().get(await system.phoneId('D1')))!.flagged).toBe(true);
    } finally {
      await system.stop();
    }
  });
});
