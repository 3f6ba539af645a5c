/**
 * Issue 10: messages the user only marked \Deleted on the desktop (Thunderbird's
 * "mark as deleted", Courier's and many webmails' default). Decision, as most
 * mail clients show it: such a message is hidden from the phone — it leaves
 * the window (unmapped; nothing is deleted), the next message takes its
 * slot, and it comes back if the mark is removed. Expunged, it is simply
 * gone. A message the phone moves to Trash never carries the mark there, so
 * the user's next EXPUNGE of Trash cannot destroy it. Both change-finding
 * paths (QRESYNC and comparison).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { TwinboxSystem } from '@twinbox/testkit';

const minutes = (n: number) => new Date(Date.UTC(2024, 4, 1, 12, 0) + n * 60_000);

for (const qresync of [true, false]) {
  describe(`desktop \\Deleted marks (${qresync ? 'QRESYNC' : 'comparison'})`, () => {
    let system: TwinboxSystem | undefined;
    afterEach(async () => {
      await system?.stop();
      system = undefined;
    });

    it('deleted-mark-hides-from-phone: marked, it leaves the window; unmarked, it is back; expunged, it is gone', async () => {
      system = await TwinboxSystem.start({ window: 3, qresync });
      for (let i = 1; i <= 4; i++) await system.desktop.deliver({ label: `D${i}`, date: minutes(-i) });
      await system.sync();
      expect(await system.phoneLabels()).toEqual(['D1', 'D2', 'D3']);

      await system.desktop.markDeleted('D2');
      await system.sync();
      expect(await system.phoneLabels()).toEqual(['D1', 'D3', 'D4']);
      expect(await system.phoneLabels('trash')).toEqual([]);
      expect(await system.desktop.deletedLabels()).toEqual(['D2']);

      await system.desktop.unmarkDeleted('D2');
      await system.sync();
      expect(await system.phoneLabels()).toEqual(['D1', 'D2', 'D3']);

      await system.desktop.markDeleted('D2');
      await system.sync();
      await system.desktop.destroy('D2', 'INBOX');
      const summary = await system.sync();
      expect(summary.agentActions).toBe(0);
      expect(await system.phoneLabels()).toEqual(['D1', 'D3', 'D4']);
      expect(await system.desktop.labels()).toEqual(['D1', 'D3', 'D4']);
    });

    it('deleted-mark-not-carried-to-trash: a marked message the phone trashes arrives in Trash unmarked', async () => {
      system = await TwinboxSystem.start({ window: 3, qresync });
      await system.desktop.deliver({ label: 'D1', date: minutes(-1) });
      await system.sync();
      await system.phone().trash(await system.phoneId('D1'));
      await system.desktop.markDeleted('D1');
      await system.sync();
      expect(await system.desktop.labels('Trash')).toEqual(['D1']);
      expect(await system.desktop.deletedLabels('Trash')).toEqual([]);
    });
  });
}
