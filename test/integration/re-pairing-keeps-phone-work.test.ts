/**
 * Issue 9.6: an initial sync (the agent lost its database, a new laptop, a
 * restore, a UIDVALIDITY reset) never drops what the user did on the phone.
 *
 * - Mail the phone sent via the desktop is sent exactly once, filed in the
 *   desktop Sent folder, and moves to phone Sent; a direct send's copy still
 *   reaches the desktop Sent folder.
 * - Read, flag, trash and destroy made on the phone before the agent started
 *   over take effect on the desktop, although the account's policy is
 *   `desktop` (they are the user's changes since the last agreed state).
 */
import { rmSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { TwinboxSystem, labelOfRaw, makeMessage } from '@twinbox/testkit';

const envelope = { from: 'user1@phone.invalid', to: ['friend@example.test'] };
const outgoing = (label: string, viaSync: boolean) => ({ raw: makeMessage({ label, to: 'Friend <friend@example.test>', from: 'user1@phone.invalid' }), envelope, viaSync });

describe('re-pairing keeps the phone user’s work', () => {
  let system: TwinboxSystem | undefined;
  afterEach(async () => {
    await system?.stop();
    system = undefined;
  });

  it('outgoing-mail-survives-re-pairing: sent once via the desktop, a direct send filed, nothing left queued', async () => {
    system = await TwinboxSystem.start({ window: 3 });
    await system.sync();
    const viaSync = await system.phone().send(outgoing('O1', true));
    await system.phone().send(outgoing('O2', false));
    expect(system.relay.received).toHaveLength(1);
    rmSync(system.agentDatabase, { force: true });

    expect((await system.sync()).mode).toBe('initial');
    expect(system.smtp.received.map((m) => labelOfRaw(m.raw))).toEqual(['O1']);
    expect(await system.phone().get(viaSync)).toMatchObject({ folder: 'sent', sendStatus: null });
    expect(new Set(await system.desktop.labels('Sent'))).toEqual(new Set(['O1', 'O2']));
    expect(await system.store.actions.pending('user1')).toEqual([]);

    await system.sync();
    await system.sync();
    expect(system.smtp.received).toHaveLength(1);
    expect((await system.desktop.labels('Sent')).sort()).toEqual(['O1', 'O2']);
  });

  it('phone-changes-survive-re-pairing: read, flag, trash and destroy made before the agent started over all reach the desktop', async () => {
    system = await TwinboxSystem.start({ window: 4 });
    for (const [i, label] of ['M1', 'M2', 'M3', 'M4'].entries()) await system.desktop.deliver({ label, date: new Date(Date.UTC(2026, 10, 1 + i)) });
    await system.sync();
    expect(await system.phoneLabels()).toEqual(['M4', 'M3', 'M2', 'M1']);

    const phone = system.phone();
    await phone.markRead(await system.phoneId('M1'));
    await phone.flag(await system.phoneId('M2'));
    await phone.trash(await system.phoneId('M3'));
    await phone.destroy(await system.phoneId('M4'));
    rmSync(system.agentDatabase, { force: true });

    expect((await system.sync()).mode).toBe('initial');
    const inbox = await system.desktop.list();
    expect(inbox.map((m) => [m.label, m.seen, m.flagged])).toEqual([
      ['M2', false, true],
      ['M1', true, false],
    ]);
    expect(await system.desktop.labels('Trash')).toEqual(['M3']);
    expect((await system.phoneMessages()).map((m) => [m.label, m.seen, m.flagged])).toEqual([
      ['M2', false, true],
      ['M1', true, false],
    ]);
    expect(await system.phoneLabels('trash')).toEqual(['M3']);
    expect(await system.store.actions.pending('user1')).toEqual([]);

    // Both sides agree now: a later phone change is an ordinary change, and a sync without changes does nothing.
    await phone.markUnread(await system.phoneId('M1'));
    await system.sync();
    expect((await system.desktop.list()).find((m) => m.label === 'M1')?.seen).toBe(false);
    const quiet = await system.sync();
    expect([quiet.agentActions, quiet.serverActions, quiet.insertedOnDesktop]).toEqual([0, 0, 0]);
  });
});
