/**
 * Everything that starts a sync without the user (docs/spec.md §8, §9), with the
 * agent running as a background process: live push over the watch
 * connection, "sync now" by the live path and by the magic e-mail, trigger
 * e-mails that are forged, expired, replayed or a burst of ten, a trigger
 * that must never be synced, and the cron schedule.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { makeTriggerHeader } from '@twinbox/protocol';
import { TwinboxSystem, triggerMail, type AgentDaemon } from '@twinbox/testkit';

/** No sync for a trigger within `ms` (new mail still starts a desktop sync: desktop-push.test.ts). */
async function noTriggerSyncFor(daemon: AgentDaemon, ms: number): Promise<void> {
  const before = daemon.events.length;
  await new Promise((r) => setTimeout(r, ms));
  expect(daemon.events.slice(before).filter((e) => e.event === 'sync' && e.reasons?.includes('trigger'))).toEqual([]);
}

describe('syncs without user action', () => {
  let system: TwinboxSystem | undefined;
  afterEach(async () => {
    await system?.stop();
    system = undefined;
  });

  it('live push: a phone change and "sync now" start a sync over the open connection, no e-mail', async () => {
    system = await TwinboxSystem.start({ window: 3 });
    await system.desktop.deliver({ label: 'D1' });
    const daemon = await system.startDaemon();
    await daemon.waitFor((e) => e.event === 'sync' && e.reason === 'startup', 20_000);
    const token = await system.addDevice();
    await expect.poll(async () => (await system!.api('GET', '/api/v1/status', token)).json.agentConnected, { timeout: 5000 }).toBe(true);

    const pushed = daemon.nextSync(10_000);
    await system.api('POST', `/api/v1/messages/${await system.phoneId('D1')}/flag`, token);
    expect((await pushed).reason).toBe('push');
    expect((await system.desktop.list()).find((m) => m.label === 'D1')?.flagged).toBe(true);

    const t0 = performance.now();
    const next = daemon.nextSync(10_000);
    const answer = await system.api('POST', '/api/v1/sync-now', token);
    expect(answer.json).toEqual({ path: 'live' });
    await next;
    const liveMs = performance.now() - t0;
    console.log(`sync now → sync complete, live connection: ${liveMs.toFixed(0)} ms`);
    expect(await system.desktop.labels('INBOX')).toEqual(['D1']);
  });

  it('sync now by magic e-mail when the agent is not connected: the trigger is consumed, never shown or synced', async () => {
    system = await TwinboxSystem.start({ window: 3 });
    await system.desktop.deliver({ label: 'D1' });
    const daemon = await system.startDaemon(['--schedule', 'off', '--no-push']);
    await daemon.waitFor((e) => e.event === 'sync' && e.reason === 'startup', 20_000);
    const token = await system.addDevice();

    const t0 = performance.now();
    const next = daemon.nextSync(15_000);
    expect((await system.api('POST', '/api/v1/sync-now', token)).json).toEqual({ path: 'email' });
    const synced = await next;
    const emailMs = performance.now() - t0;
    console.log(`sync now → sync complete, e-mail trigger: ${emailMs.toFixed(0)} ms`);
    expect(synced.reason).toBe('trigger');
    expect(await system.desktop.labels('INBOX')).toEqual(['D1']);
    expect(await system.phoneLabels()).toEqual(['D1']);
    expect(await system.desktop.labels('Trash')).toEqual([]);
  });

  it('forged, expired, replayed and foreign triggers start no trigger sync and stay as ordinary mail', async () => {
    system = await TwinboxSystem.start({ window: 10 });
    const daemon = await system.startDaemon(['--schedule', 'off', '--no-push']);
    await daemon.waitFor((e) => e.event === 'sync' && e.reason === 'startup', 20_000);
    const secret = system.pairing.triggerSecret;

    const valid = makeTriggerHeader(secret, 'user1');
    const consumed = daemon.nextSync(10_000);
    await system.deliverToDesktop(triggerMail(valid.value, 'VALID'));
    expect((await consumed).reason).toBe('trigger');

    await system.deliverToDesktop(triggerMail(makeTriggerHeader('tbt_not-the-secret', 'user1').value, 'FORGED'));
    await system.deliverToDesktop(triggerMail(makeTriggerHeader(secret, 'user1', Date.now() - 3_600_000).value, 'EXPIRED'));
    await system.deliverToDesktop(triggerMail(valid.value, 'REPLAYED'));
    await system.deliverToDesktop(triggerMail(makeTriggerHeader(secret, 'user2').value, 'FOREIGN'));
    await noTriggerSyncFor(daemon, 2500);
    const inbox = await system.desktop.labels('INBOX');
    expect(inbox.sort()).toEqual(['EXPIRED', 'FOREIGN', 'FORGED', 'REPLAYED']);

    // Ordinary mail: the next sync takes them to the phone.
    const manual = daemon.nextSync(10_000);
    expect((await daemon.requestSync()).ok).toBe(true);
    expect((await manual).reason).toBe('manual');
    expect((await system.phoneLabels()).sort()).toEqual(['EXPIRED', 'FOREIGN', 'FORGED', 'REPLAYED']);
  });

  it('a burst of ten triggers: all consumed, coalesced into at most two syncs', async () => {
    system = await TwinboxSystem.start({ window: 3 });
    const daemon = await system.startDaemon(['--schedule', 'off', '--no-push']);
    await daemon.waitFor((e) => e.event === 'sync' && e.reason === 'startup', 20_000);
    const before = daemon.events.length;
    for (let i = 0; i < 10; i++) await system.deliverToDesktop(triggerMail(makeTriggerHeader(system.pairing.triggerSecret, 'user1').value, `T${i}`));
    await daemon.waitFor((e) => e.event === 'sync' && e.reason === 'trigger', 15_000, before);
    await new Promise((r) => setTimeout(r, 2500));
    const triggered = daemon.events.slice(before).filter((e) => e.event === 'sync');
    expect(triggered.length).toBeGreaterThanOrEqual(1);
    expect(triggered.length).toBeLessThanOrEqual(2);
    expect(await system.desktop.labels('INBOX')).toEqual([]);
    expect(await system.phoneLabels()).toEqual([]);
  });

  it('a valid trigger is never listed, synced or counted by a sync, even one that runs before the watcher saw it', async () => {
    system = await TwinboxSystem.start({ window: 3 });
    await system.desktop.deliver({ label: 'D1' });
    await system.sync();
    await system.deliverToDesktop(triggerMail(makeTriggerHeader(system.pairing.triggerSecret, 'user1').value, 'TRIGGER'));
    const summary = await system.sync();
    expect(summary.pulled).toBe(0);
    expect(summary.desktopInbox).toBe(1);
    expect(await system.phoneLabels()).toEqual(['D1']);
  });

  it('both connections come back by themselves: after an IMAP restart triggers work, after a server restart push works', async () => {
    system = await TwinboxSystem.start({ window: 3 });
    await system.desktop.deliver({ label: 'D1' });
    const daemon = await system.startDaemon();
    await daemon.waitFor((e) => e.event === 'sync' && e.reason === 'startup', 20_000);
    const token = await system.addDevice();

    await system.restartImap();
    // The watcher reconnects with backoff (first retry within about a second); a trigger then still works.
    await new Promise((r) => setTimeout(r, 2500));
    const triggered = daemon.nextSync(15_000);
    await system.deliverToDesktop(triggerMail(makeTriggerHeader(system.pairing.triggerSecret, 'user1').value, 'T1'));
    expect((await triggered).reasons).toContain('trigger');

    await system.stopServer();
    await system.startServer();
    await expect.poll(async () => (await system!.api('GET', '/api/v1/status', token)).json.agentConnected, { timeout: 10_000 }).toBe(true);
    const pushed = daemon.nextSync(10_000);
    await system.api('POST', `/api/v1/messages/${await system.phoneId('D1')}/read`, token);
    expect((await pushed).reasons).toContain('push');
    expect((await system.desktop.list()).find((m) => m.label === 'D1')?.seen).toBe(true);
  });

  it('the schedule: a cron expression syncs by itself', async () => {
    system = await TwinboxSystem.start({ window: 3 });
    const daemon = await system.startDaemon(['--schedule', '*/2 * * * * *', '--no-push', '--no-triggers']);
    await daemon.waitFor((e) => e.event === 'sync' && e.reason === 'schedule', 10_000);
    await daemon.waitFor((e) => e.event === 'sync' && e.reason === 'schedule', 10_000, daemon.events.findIndex((e) => e.reason === 'schedule') + 1);
  });
});
