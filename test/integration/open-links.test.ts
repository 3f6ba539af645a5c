/**
 * Issue 11, "anything new?" (seed US9130894): the background agent keeps its
 * IMAP connection and its watch connection open and syncs over them. A sync
 * that finds nothing on either side is one frame each way and a few hundred
 * bytes, whatever the window holds; the window's UIDs travel only when they
 * changed; a phone change pushed during a sync is not lost; and a change on
 * either side still goes through on the same links.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { SyncSummary } from '@twinbox/sync-client';
import { TwinboxSystem, type AgentDaemon } from '@twinbox/testkit';
import { expectWindowInvariant } from '../helpers/invariant.js';

/** A sync asked for as `twinbox-agent sync` asks (the control socket); its summary. */
async function manualSync(daemon: AgentDaemon): Promise<SyncSummary> {
  const answer = await daemon.requestSync();
  if (!answer.ok) throw new Error(`sync failed: ${answer.error.message} [${answer.error.code}]`);
  return answer.summary;
}

describe('the background agent on open links', () => {
  let system: TwinboxSystem | undefined;
  afterEach(async () => {
    await system?.stop();
    system = undefined;
  });

  it('quiet-sync-one-round-trip: nothing new costs one frame each way, whatever the window; changes still go through', async () => {
    system = await TwinboxSystem.start({ window: 40 });
    for (let i = 0; i < 40; i++) await system.desktop.deliver({ label: `D${i}`, date: new Date(Date.UTC(2026, 0, 1, 0, i)) });
    const daemon = await system.startDaemon(['--schedule', 'off', '--no-desktop-push']); // only the syncs asked for here (desktop-push.test.ts)
    await daemon.waitFor((e) => e.event === 'sync' && e.reason === 'startup', 30_000);
    const token = await system.addDevice();
    await expect.poll(async () => (await system!.api('GET', '/api/v1/status', token)).json.agentConnected, { timeout: 5000 }).toBe(true);

    // The first sync after the window filled may still send its order; from then on, nothing travels but hello and welcome.
    await manualSync(daemon);
    const quiet = await manualSync(daemon);
    expect(quiet.mode).toBe('update');
    expect([quiet.wire.framesSent, quiet.wire.framesReceived]).toEqual([1, 1]);
    expect(quiet.wire.bytesSent + quiet.wire.bytesReceived).toBeLessThan(2048);

    // A desktop change: a full sync over the same links, then quiet again.
    await system.desktop.setFlag('D39', '\\Flagged', true);
    const changed = await manualSync(daemon);
    expect(changed.agentActions).toBe(1);
    expect((await system.phoneMessages()).find((m) => m.label === 'D39')?.flagged).toBe(true);
    expect((await manualSync(daemon)).wire.framesReceived).toBe(1);

    // Moved to Trash and expunged on the desktop, found on the INBOX kept selected (no SELECT again): the count tells.
    await system.desktop.move('D37', 'INBOX', 'Trash');
    await system.desktop.destroy('D36', 'INBOX');
    await system.desktop.deliver({ label: 'NEW', date: new Date(Date.UTC(2026, 0, 2)) });
    const moved = await manualSync(daemon);
    expect(moved.agentActions).toBeGreaterThanOrEqual(3);
    expect(await system.phoneLabels('trash')).toEqual(['D37']);
    expect(await system.phoneLabels()).not.toContain('D36');
    expect((await system.phoneLabels())[0]).toBe('NEW');
    await expectWindowInvariant(system, 40);

    // A phone change through the phone API: the server pushes a request over the watch link, and the sync takes it.
    const id = await system.phoneId('D38');
    const pushed = daemon.nextSync(20_000);
    expect((await system.api('POST', `/api/v1/messages/${id}/read`, token)).status).toBe(200);
    expect((await pushed).reason).toBe('push');
    await expect.poll(async () => (await system!.desktop.list()).find((m) => m.label === 'D38')?.seen, { timeout: 10_000 }).toBe(true);
    await expectWindowInvariant(system, 40);

    // A one-off `twinbox-agent sync` with nothing to do is just as quiet.
    await daemon.stop();
    const oneOff = await system.sync();
    expect([oneOff.wire.framesSent, oneOff.wire.framesReceived]).toEqual([1, 1]);
  });
});
