/**
 * docs/spec.md §10 under SIGKILL: the agent process is killed in the middle of an
 * update sync with many actions in flight (after its Nth protocol frame, via
 * TWINBOX_KILL_AFTER_FRAMES), restarted, and synced again. Every action must
 * be applied exactly once: no message lost, none duplicated, the window
 * invariant holds, and nothing is left pending on either side.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { agentRows, expectWindowInvariant } from '../helpers/invariant.js';
import { TwinboxSystem } from '@twinbox/testkit';

const minutes = (n: number) => new Date(Date.UTC(2024, 6, 1, 12, 0) + n * 60_000);
const WINDOW = 30;

async function prepare(): Promise<TwinboxSystem> {
  const system = await TwinboxSystem.start({ window: WINDOW });
  for (let i = 1; i <= 40; i++) await system.desktop.deliver({ label: `D${i}`, date: minutes(-i) });
  await system.sync();
  // Many changes on both sides: 20 desktop flag changes, 10 desktop trashes,
  // 12 new phone messages, 8 phone flag changes.
  for (let i = 1; i <= 20; i++) await system.desktop.setFlag(`D${i}`, '\\Seen', true);
  for (let i = 21; i <= 30; i++) await system.desktop.move(`D${i}`, 'INBOX', 'Trash');
  for (let i = 1; i <= 12; i++) await system.phoneDeliver({ label: `P${i}`, date: minutes(i) });
  for (let i = 1; i <= 8; i++) await system.phone().flag(await system.phoneId(`D${i}`));
  return system;
}

async function expectConverged(system: TwinboxSystem): Promise<void> {
  const inbox = await system.desktop.labels('INBOX');
  const trash = await system.desktop.labels('Trash');
  const expectedInbox = [...Array.from({ length: 12 }, (_, i) => `P${12 - i}`), ...Array.from({ length: 20 }, (_, i) => `D${i + 1}`), ...Array.from({ length: 10 }, (_, i) => `D${i + 31}`)];
  expect(inbox).toEqual(expectedInbox);
  expect([...trash].sort()).toEqual(Array.from({ length: 10 }, (_, i) => `D${i + 21}`).sort());
  expect((await system.phoneLabels('trash')).sort()).toEqual([...trash].sort());
  const desktop = await system.desktop.list('INBOX');
  for (let i = 1; i <= 20; i++) expect(desktop.find((m) => m.label === `D${i}`)?.seen, `D${i} read`).toBe(true);
  for (let i = 1; i <= 8; i++) expect(desktop.find((m) => m.label === `D${i}`)?.flagged, `D${i} flagged`).toBe(true);
  await expectWindowInvariant(system, WINDOW);
  expect(agentRows(system, 'SELECT * FROM actions')).toEqual([]);
  expect(await system.store.actions.count('user1')).toBe(0);
}

describe('agent killed with SIGKILL in the middle of an update sync', () => {
  let system: TwinboxSystem | undefined;
  afterEach(async () => {
    await system?.stop();
    system = undefined;
  });

  // Frames: hello+welcome, 30 desktop actions + 30 acks, swap, then 20 phone actions + 20 acks.
  // 12 lands inside the desktop burst; 70 and 79 inside the phone actions (APPENDs and flag changes).
  for (const killAfter of [12, 70, 79]) {
    it(`converges with every action applied once after a kill at frame ${killAfter}`, async () => {
      system = await prepare();
      const killed = await system.runAgent([], { TWINBOX_KILL_AFTER_FRAMES: String(killAfter) });
      expect(killed.signal).toBe('SIGKILL');
      // Some, not all, of the work reached the server before the kill.
      const pendingAfterKill = agentRows<{ n: number }>(system, 'SELECT COUNT(*) AS n FROM actions')[0]!.n + (await system.store.actions.count('user1'));
      expect(pendingAfterKill).toBeGreaterThan(0);

      const summary = await system.sync();
      expect(summary.mode).toBe('update');
      await expectConverged(system);
      // And a further sync finds nothing left to do.
      const again = await system.sync();
      expect(again).toMatchObject({ agentActions: 0, serverActions: 0, insertedOnDesktop: 0 });
      await expectConverged(system);
    });
  }
});
