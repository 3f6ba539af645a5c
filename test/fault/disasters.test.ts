/**
 * Desktop-side and server-side disasters (issue 5): after each, the next sync
 * converges with no message duplicated and none deleted in bulk. (The IMAP
 * server going down in the middle of a sync is in kill-every-frame.test.ts.)
 */
import { copyFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { makeTriggerHeader } from '@twinbox/protocol';
import { LoopbackProxy, TwinboxSystem, triggerMail } from '@twinbox/testkit';
import type { SqliteEngine } from '../../packages/sync-server/src/store/sqlite-engine.js';
import { expectWindowInvariant } from '../helpers/invariant.js';

const at = (n: number) => new Date(Date.UTC(2024, 8, 1, 12, 0) + n * 60_000);

async function populated(): Promise<TwinboxSystem> {
  const system = await TwinboxSystem.start({ window: 4 });
  for (let i = 1; i <= 8; i++) await system.desktop.deliver({ label: `D${i}`, date: at(-i) });
  await system.phoneDeliver({ label: 'P1', date: at(-2.5) });
  await system.sync();
  await system.phone().trash(await system.phoneId('D2'));
  await system.desktop.setFlag('D1', '\\Flagged', true);
  await system.sync();
  return system;
}

async function snapshot(system: TwinboxSystem) {
  return {
    desktop: { inbox: await system.desktop.labels('INBOX'), trash: await system.desktop.labels('Trash') },
    phone: { inbox: await system.phoneLabels(), trash: await system.phoneLabels('trash') },
  };
}

describe('disasters', () => {
  let system: TwinboxSystem | undefined;
  afterEach(async () => {
    await system?.stop();
    system = undefined;
  });

  it('UIDVALIDITY of the desktop INBOX changes (mailbox rebuilt): an initial sync re-maps by fingerprint, nothing twice, nothing deleted', async () => {
    system = await populated();
    const before = await snapshot(system);
    await system.desktop.close();
    await system.dovecot.resetInboxUidValidity('user1');
    await system.restartImap();
    const summary = await system.sync();
    // The agent's own state is intact: only the new UIDVALIDITY can have made this an initial sync.
    expect(summary.mode).toBe('initial');
    expect(summary.insertedOnDesktop).toBe(0);
    expect(await snapshot(system)).toEqual(before);
    await expectWindowInvariant(system, 4);
    // And it keeps working as an ordinary pairing afterwards.
    await system.desktop.setFlag('D3', '\\Seen', true);
    expect((await system.sync()).mode).toBe('update');
    expect((await system.phone().get(await system.phoneId('D3')))!.seen).toBe(true);
  });

  it('server database restored from an older backup: the next sync is an initial one; no duplicate, no mass deletion', async () => {
    system = await populated();
    const backup = join(system.dir, 'backup.db');
    await (system.store.engine as SqliteEngine).db.backup(backup);
    // Life goes on after the backup: new mail on both sides, a sync.
    await system.desktop.deliver({ label: 'D0', date: at(1) });
    await system.phoneDeliver({ label: 'P2', date: at(2) });
    await system.sync();
    const desktopBefore = await system.desktop.labels('INBOX');

    await system.stopServer();
    await system.closeStore();
    const db = join(system.serverDir, 'twinbox.db');
    for (const suffix of ['-wal', '-shm']) rmSync(`${db}${suffix}`, { force: true });
    copyFileSync(backup, db);
    await system.startServer();

    const summary = await system.sync();
    expect(summary.mode).toBe('initial');
    const desktopAfter = await system.desktop.labels('INBOX');
    expect(new Set(desktopAfter).size).toBe(desktopAfter.length);
    for (const label of desktopBefore) expect(desktopAfter).toContain(label);
    const phoneAll = [...(await system.phoneLabels()), ...(await system.phoneLabels('trash'))];
    expect(new Set(phoneAll).size).toBe(phoneAll.length);
    await expectWindowInvariant(system, 4);
  });

  it('the agent\'s kept IMAP connections go silent without closing: both are re-made and the next trigger e-mail still starts a sync', async () => {
    system = await TwinboxSystem.start({ window: 4 });
    const imapProxy = await LoopbackProxy.start({ port: system.dovecot.imapPort }, 'client-lines');
    try {
      system.editAgentConfig((c) => {
        c.imap.port = imapProxy.port;
        c.imap.keepaliveSeconds = 1;
      });
      const daemon = await system.startDaemon(['--schedule', 'off', '--no-push']);
      await daemon.waitFor((e) => e.event === 'sync' && e.reason === 'startup', 20_000);
      // Two connections stay open: the trigger watcher's (IDLE) and the one syncs run over (kept between them).
      await expect.poll(() => imapProxy.open, { timeout: 5000 }).toBe(2);
      const before = imapProxy.connections;
      imapProxy.silenceOpen();

      // The trigger reaches Dovecot directly; only the agent's old links are dead.
      const synced = daemon.nextSync(20_000);
      await system.deliverToDesktop(triggerMail(makeTriggerHeader(system.pairing.triggerSecret, 'user1').value, 'T'));
      expect((await synced).reason).toBe('trigger');
      expect(imapProxy.connections).toBeGreaterThan(before);
      expect(daemon.stderr).toContain('IMAP server silent, reconnecting');
      expect(daemon.stderr).toContain('the kept IMAP connection does not answer, reconnecting');
      expect(await system.desktop.labels('INBOX')).toEqual([]);
    } finally {
      await imapProxy.close();
    }
  });
});
