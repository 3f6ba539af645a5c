/**
 * Housekeeping and removal (issue 13; issue 18.3, 18.4), with the real server
 * CLI on the real database: retention never removes desktop mail the user did
 * not ask to remove. Old phone Trash leaves the phone only (the desktop Trash
 * keeps it) unless the operator opts in, and then only a message still in the
 * desktop Trash goes (a desktop recover wins); the phone's old Sent copies go
 * (the desktop keeps its own); over the size cap phone-only copies go first
 * and the desktop loses nothing, and mail over the quota is refused; freed
 * pages go back to the file system, and `account remove` leaves no row of the
 * account behind.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { SmtpDialog, TwinboxSystem, makeMessage } from '@twinbox/testkit';

const DAY = 24 * 60 * 60 * 1000;

describe('housekeeping', () => {
  let system: TwinboxSystem | undefined;
  afterEach(async () => {
    await system?.stop();
    system = undefined;
  });

  /** As if the message came into its folder `days` ago. */
  const ageById = (s: TwinboxSystem, id: number, days: number) => s.store.engine.run('UPDATE messages SET folder_since = ? WHERE id = ?', [Date.now() - days * DAY, id]);
  const age = async (s: TwinboxSystem, label: string, days: number) => ageById(s, await s.phoneId(label), days);
  /**
   * `twinbox-server housekeeping` after `aging` — with the server process stopped meanwhile, so that its own
   * scheduled run (5 s after it starts, then hourly) cannot take the aged messages first.
   */
  const housekeeping = async (s: TwinboxSystem, aging: () => Promise<unknown> = async () => undefined) => {
    await s.stopServer();
    await aging();
    const run = await s.serverCli(['housekeeping', '--json']);
    expect(run.code, run.stderr).toBe(0);
    const freelist = (await s.store.engine.get<{ freelist_count: number }>('PRAGMA freelist_count'))!.freelist_count;
    await s.startServer();
    return { ...(JSON.parse(run.stdout) as { accounts: Record<string, { trashDropped: number; trashExpired: number; sentRemoved: number }>; pagesFreed: number }), freelist };
  };
  const RETENTION = { trashDays: 30, expireDesktopTrash: false, sentDays: 90, maxBytesPerAccount: 1024 * 1024 * 1024, intervalMinutes: 60 };

  it('retention-trash-phone-only: Trash older than trashDays leaves the phone; the desktop Trash keeps it (issue 18.3)', async () => {
    system = await TwinboxSystem.start({ window: 5 });
    for (const label of ['D1', 'D2', 'D3']) await system.desktop.deliver({ label });
    await system.sync();
    const token = await system.addDevice();
    for (const label of ['D1', 'D2']) await system.api('POST', `/api/v1/messages/${await system.phoneId(label)}/trash`, token);
    await system.sync();
    expect((await system.desktop.labels('Trash')).sort()).toEqual(['D1', 'D2']);
    const aged = async () => {
      await age(system!, 'D1', 31);
      await age(system!, 'D2', 29);
    };
    expect((await housekeeping(system, aged)).accounts).toEqual({ user1: { trashDropped: 1, trashExpired: 0, sentRemoved: 0 } });
    expect(await system.phoneLabels('trash')).toEqual(['D2']);
    expect((await system.store.actions.pending('user1')).map((a) => a.kind)).toEqual(['unmap']);
    await system.sync();
    expect((await system.desktop.labels('Trash')).sort()).toEqual(['D1', 'D2']);
    expect(await system.desktop.labels('INBOX')).toEqual(['D3']);
    // The agent no longer follows it: the user may empty the desktop Trash without the phone hearing of D1.
    await system.desktop.destroy('D1', 'Trash');
    const after = await system.sync();
    expect(after.agentActions).toBe(0);
    expect((await housekeeping(system)).accounts).toEqual({});
  });

  it('retention-expire-opt-in: with expireDesktopTrash the desktop Trash copy goes too — only if it is still there', async () => {
    system = await TwinboxSystem.start({ window: 5 });
    for (const label of ['E1', 'E2', 'E3']) await system.desktop.deliver({ label });
    await system.sync();
    for (const label of ['E1', 'E2']) await system.phone().trash(await system.phoneId(label));
    await system.sync();
    expect((await system.desktop.labels('Trash')).sort()).toEqual(['E1', 'E2']);
    system.editServerConfig((c) => (c.retention = { ...RETENTION, expireDesktopTrash: true }));
    // Issue 18.4: while the agent was away the user took E2 back out of the desktop Trash.
    await system.desktop.move('E2', 'Trash', 'INBOX');
    const aged = async () => {
      await age(system!, 'E1', 31);
      await age(system!, 'E2', 31);
    };
    expect((await housekeeping(system, aged)).accounts).toEqual({ user1: { trashDropped: 2, trashExpired: 2, sentRemoved: 0 } });
    expect((await system.store.actions.pending('user1')).map((a) => a.kind)).toEqual(['expire', 'expire']);
    await system.sync();
    // E1 was still in the desktop Trash: it is gone. E2 was recovered on the desktop: the recover wins, it stays
    // and comes back to the phone's window.
    expect(await system.desktop.labels('Trash')).toEqual([]);
    expect((await system.desktop.labels('INBOX')).sort()).toEqual(['E2', 'E3']);
    await system.sync();
    expect((await system.phoneLabels()).sort()).toEqual(['E2', 'E3']);
  });

  it('retention-sent-phone-only: the phone drops its old Sent copy once the desktop has its own', async () => {
    system = await TwinboxSystem.start({ window: 3 });
    await system.sync();
    const raw = makeMessage({ label: 'S1', from: 'user1@phone.invalid', to: 'friend@example.test' });
    const id = await system.phone().send({ raw, envelope: { from: 'user1@phone.invalid', to: ['friend@example.test'] }, viaSync: false });
    expect((await system.phone().get(id))?.folder).toBe('sent');
    // The `sent` action (a copy for the desktop Sent folder) still waits: the phone keeps it.
    expect((await housekeeping(system, () => ageById(system!, id, 91))).accounts).toEqual({});
    await system.sync();
    expect(await system.desktop.labels('Sent')).toEqual(['S1']);
    expect((await housekeeping(system, () => ageById(system!, id, 91))).accounts).toEqual({ user1: { trashDropped: 0, trashExpired: 0, sentRemoved: 1 } });
    expect(await system.phoneLabels('sent')).toEqual([]);
    await system.sync();
    expect(await system.desktop.labels('Sent')).toEqual(['S1']);
  });

  it('size-cap-never-touches-the-desktop: over the cap Sent copies go first, then Trash copies from the phone only; mail over the quota is refused with 452 (issue 18.3)', async () => {
    system = await TwinboxSystem.start({ window: 6 });
    for (const label of ['B1', 'B2']) await system.desktop.deliver({ label, size: 100_000 });
    await system.sync();
    for (const label of ['B1', 'B2']) await system.phone().trash(await system.phoneId(label));
    await system.sync();
    expect((await system.desktop.labels('Trash')).sort()).toEqual(['B1', 'B2']);
    const sent = await system.phone().send({ raw: makeMessage({ label: 'S1', size: 50_000 }), envelope: { from: 'user1@phone.invalid', to: ['x@example.test'] }, viaSync: false });
    await system.sync();
    // About 255 KB on the phone, over a cap of 200 KB: a stranger's mail is refused at RCPT, nothing stored.
    system.editServerConfig((c) => (c.retention = { ...RETENTION, maxBytesPerAccount: 200_000 }));
    await system.stopServer();
    await system.startServer();
    const { dialog } = await SmtpDialog.open(system.smtpPort);
    await dialog.command('EHLO stranger.example');
    await dialog.command('MAIL FROM:<s@stranger.example>');
    const refused = await dialog.command('RCPT TO:<user1@phone.invalid>');
    dialog.end();
    expect([refused.code, refused.text]).toEqual([452, expect.stringMatching(/^4\.2\.2 /)]);

    const report = await housekeeping(system, async () => {
      await age(system!, 'B1', 3);
      await age(system!, 'B2', 2);
      await ageById(system!, sent, 1);
    });
    // The Sent copy first, then the oldest Trash copy, both from the phone only.
    expect(report.accounts).toEqual({ user1: { trashDropped: 1, trashExpired: 0, sentRemoved: 1 } });
    expect(await system.phoneLabels('trash')).toEqual(['B2']);
    expect(await system.phoneLabels('sent')).toEqual([]);
    // Under the cap again: mail is taken; one that would take the account over it is refused whole (at DATA).
    await system.phoneReceive({ label: 'X1', size: 20_000 });
    expect(await system.phoneLabels()).toEqual(['X1']);
    await expect(system.phoneReceive({ label: 'X2', size: 90_000 })).rejects.toThrow(/452 4\.2\.2/);
    expect(await system.phoneLabels()).toEqual(['X1']);
    await system.sync();
    // The desktop lost nothing: both Trash messages and the Sent copy are still there.
    expect((await system.desktop.labels('Trash')).sort()).toEqual(['B1', 'B2']);
    expect(await system.desktop.labels('Sent')).toEqual(['S1']);
    expect(await system.desktop.labels()).toEqual(['X1']);
    expect(report.pagesFreed).toBeGreaterThan(0);
    expect(report.freelist).toBe(0);
    expect((await system.store.engine.get<{ auto_vacuum: number }>('PRAGMA auto_vacuum'))!.auto_vacuum).toBe(2);
  });

  it('account-remove-leaves-nothing: every row of the account goes, another account is untouched', async () => {
    system = await TwinboxSystem.start({ window: 3 });
    await system.desktop.deliver({ label: 'D1' });
    await system.sync();
    await system.addAccount('user2');
    const { token } = await system.addPhoneDevice('user2');
    const { PhoneMailbox } = await import('@twinbox/sync-server');
    await new PhoneMailbox(system.store, 'user2').deliver({ raw: makeMessage({ label: 'U2' }) });
    await system.api('POST', '/api/v1/send', token, { to: ['a@example.test'], text: 'x', viaSync: true });
    const deviceIds = (await system.store.devices.list('user2')).map((d) => d.id);
    expect(deviceIds.length).toBe(1);

    const removed = await system.serverCli(['account', 'remove', '--id', 'user2']);
    expect(removed.code, removed.stderr).toBe(0);
    expect(removed.stdout).toContain('account user2 removed with its 2 phone messages');
    const db = system.store.engine;
    const tables = (await db.all<{ name: string }>("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")).map((t) => t.name);
    for (const table of tables) {
      const columns = (await db.all<{ name: string }>(`PRAGMA table_info(${table})`)).map((c) => c.name);
      if (columns.includes('account_id')) expect([table, (await db.get<{ n: number }>(`SELECT COUNT(*) AS n FROM ${table} WHERE account_id = 'user2'`))!.n]).toEqual([table, 0]);
      if (columns.includes('device_id')) expect([table, (await db.get<{ n: number }>(`SELECT COUNT(*) AS n FROM ${table} WHERE device_id IN (${deviceIds.join(',')})`))!.n]).toEqual([table, 0]);
    }
    expect(await db.get("SELECT COUNT(*) AS n FROM accounts WHERE id = 'user2'")).toEqual({ n: 0 });
    expect((await system.api('GET', '/api/v1/status', token)).status).toBe(401);
    expect(await system.phoneLabels()).toEqual(['D1']);
    await system.sync();
    expect((await system.serverCli(['account', 'remove', '--id', 'user2'])).code).toBe(1);
  });
});
