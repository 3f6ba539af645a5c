/**
 * The sync and the trigger watcher never run an expunge at the same time on
 * a server without UIDPLUS (issue 18, finding 13). There an exact expunge is
 * "unmark the user's other \Deleted messages, EXPUNGE, mark them again"
 * (imap/expunge.ts); the watcher removing trigger e-mails on its own
 * connection while a sync removes messages on its own would interleave those
 * steps: one side's EXPUNGE catching the user's message the other side had
 * just marked again, or its own message unmarked by the other.
 *
 * The bare profile (no UIDPLUS, no IDLE; the watcher polls every 50 ms here):
 * the phone destroys 25 messages, so the sync runs 25 expunges in a row, while
 * trigger e-mails keep arriving and the watcher removes each. Afterwards the
 * desktop holds exactly what nobody asked to remove, the user's \Deleted mark
 * included, and no trigger. Without `oneAtATime` the user's message was
 * expunged in 3 runs of 3; without the NOOP that brings a connection's view up
 * to date before its SEARCH DELETED, also (the other connection's marks were
 * not seen). Both parts are in expunge.ts.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { makeTriggerHeader } from '@twinbox/protocol';
import { IMAP_PROFILES, TwinboxSystem, triggerMail } from '@twinbox/testkit';

const minutes = (n: number) => new Date(Date.UTC(2024, 4, 1, 12, 0) + n * 60_000);

describe('sync and trigger watcher expunges (issue 18)', () => {
  let system: TwinboxSystem | undefined;
  afterEach(async () => {
    await system?.stop();
    system = undefined;
  });

  it('one expunge at a time per mailbox: nothing the user did not ask for is expunged while triggers are removed during a sync that removes messages', async () => {
    const s = (system = await TwinboxSystem.start({ window: 30, profile: IMAP_PROFILES.bare }));
    for (let i = 1; i <= 30; i++) await s.desktop.deliver({ label: `D${i}`, date: minutes(-i) });
    await s.desktop.deliver({ label: 'U', date: minutes(-100) });
    await s.desktop.markDeleted('U');
    await s.sync();
    expect(await s.phoneLabels()).toHaveLength(30);

    const phone = s.phone();
    for (let i = 1; i <= 25; i++) await phone.destroy(await s.phoneId(`D${i}`));
    s.editAgentConfig((c) => (c.imap.pollSeconds = 0.05));
    const daemon = await s.startDaemon(['--schedule', 'off', '--no-push', '--no-startup-sync']);
    const trigger = (n: number) => s.deliverToDesktop(triggerMail(makeTriggerHeader(s.pairing.triggerSecret, 'user1').value, `TRIGGER${n}`));
    try {
      // The first trigger starts the sync; more keep coming while it runs, each removed by the watcher.
      let sent = 0;
      await trigger(sent++);
      const started = Date.now();
      while (!daemon.events.some((e) => e.event === 'sync' || e.event === 'syncFailed') && Date.now() - started < 60_000) {
        await trigger(sent++);
        await new Promise((r) => setTimeout(r, 25));
      }
      console.log(`triggers sent while the first sync ran: ${sent}`);
      expect(daemon.events.filter((e) => e.event === 'syncFailed').map((e) => e.error)).toEqual([]);
      // The triggers are all removed, and the follow-up sync they asked for is done.
      const deadline = Date.now() + 30_000;
      while ((await s.desktop.labels()).some((l) => l.startsWith('TRIGGER')) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
      await daemon.waitFor((e) => e.event === 'sync' && (e.reasons ?? []).includes('trigger'), 20_000);
    } finally {
      await daemon.stop();
    }
    const kept = ['D26', 'D27', 'D28', 'D29', 'D30', 'U'];
    expect(await s.desktop.labels()).toEqual(kept);
    expect(await s.desktop.deletedLabels()).toEqual(['U']);
    expect(await s.desktop.labels('Trash')).toEqual([]);
    expect(await s.phoneLabels()).toEqual(['D26', 'D27', 'D28', 'D29', 'D30']);
  });
});
