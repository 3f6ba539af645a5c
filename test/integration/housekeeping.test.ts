/**
 * Housekeeping and removal (issue 13), with the real server CLI on the real
 * database: old phone Trash is destroyed on both sides as actions, the phone's
 * old Sent copies go (the desktop keeps its own), a size cap takes the oldest
 * first, freed pages go back to the file system, and `account remove` leaves
 * no row of the account behind.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { TwinboxSystem, makeMessage } from '@twinbox/testkit';

const DAY = 24 * 60 * 60 * 1000;

describe('housekeeping', () => {
  let system: TwinboxSystem | undefined;
  afterEach(async () => {
    await system?.stop();
    system = undefined;
  });

  /** As if the message came into its folder `days` ago. */
  const ageById = (s: TwinboxSystem, id: number, days: number) => s.store.db.prepare('UPDATE messages SET folder_since = ? WHERE id = ?').run(Date.now() - days * DAY, id);
  const age = (s: TwinboxSystem, label: string, days: number) => ageById(s, s.phoneId(label), days);
  const housekeeping = async (s: TwinboxSystem) => {
    const run = await s.serverCli(['housekeeping', '--json']);
    expect(run.code, run.stderr).toBe(0);
    return JSON.parse(run.stdout) as { accounts: Record<string, { trashDestroyed: number; sentRemoved: number }>; pagesFreed: number };
  };

  it('retention-trash-both-sides: Trash older than trashDays is destroyed on the phone and, as a destroy action, on the desktop', async () => {
    system = await TwinboxSystem.start({ window: 5 });
    for (const label of ['D1', 'D2', 'D3']) await system.desktop.deliver({ label });
    await system.sync();
    const token = await system.addDevice();
    for (const label of ['D1', 'D2']) await system.api('POST', `/api/v1/messages/${system.phoneId(label)}/trash`, token);
    await system.sync();
    expect((await system.desktop.labels('Trash')).sort()).toEqual(['D1', 'D2']);
    age(system, 'D1', 31);
    age(system, 'D2', 29);

    expect((await housekeeping(system)).accounts).toEqual({ user1: { trashDestroyed: 1, sentRemoved: 0 } });
    expect(system.phoneLabels('trash')).toEqual(['D2']);
    expect(system.store.actions.pending('user1').map((a) => a.kind)).toEqual(['destroy']);
    await system.sync();
    expect(await system.desktop.labels('Trash')).toEqual(['D2']);
    expect(await system.desktop.labels('INBOX')).toEqual(['D3']);
    expect((await housekeeping(system)).accounts).toEqual({});
  });

  it('retention-sent-phone-only: the phone drops its old Sent copy once the desktop has its own', async () => {
    system = await TwinboxSystem.start({ window: 3 });
    await system.sync();
    const raw = makeMessage({ label: 'S1', from: 'user1@phone.invalid', to: 'friend@example.test' });
    const id = await system.phone().send({ raw, envelope: { from: 'user1@phone.invalid', to: ['friend@example.test'] }, viaSync: false });
    expect(system.phone().get(id)?.folder).toBe('sent');
    ageById(system, id, 91);
    // The `sent` action (a copy for the desktop Sent folder) still waits: the phone keeps it.
    expect((await housekeeping(system)).accounts).toEqual({});
    await system.sync();
    expect(await system.desktop.labels('Sent')).toEqual(['S1']);
    expect((await housekeeping(system)).accounts).toEqual({ user1: { trashDestroyed: 0, sentRemoved: 1 } });
    expect(system.phoneLabels('sent')).toEqual([]);
    await system.sync();
    expect(await system.desktop.labels('Sent')).toEqual(['S1']);
  });

  it('size-cap: over maxBytesPerAccount, the oldest Trash goes first; freed pages go back', async () => {
    system = await TwinboxSystem.start({ window: 6 });
    for (const label of ['B1', 'B2', 'B3']) await system.desktop.deliver({ label, size: 200_000 });
    await system.sync();
    const token = await system.addDevice();
    for (const [label, days] of [['B1', 3], ['B2', 2], ['B3', 1]] as const) {
      await system.api('POST', `/api/v1/messages/${system.phoneId(label)}/trash`, token);
      age(system, label, days);
    }
    system.editServerConfig((c) => (c.retention = { trashDays: 30, sentDays: 90, maxBytesPerAccount: 450_000, intervalMinutes: 60 }));
    const report = await housekeeping(system);
    expect(report.accounts).toEqual({ user1: { trashDestroyed: 1, sentRemoved: 0 } });
    expect(system.phoneLabels('trash').sort()).toEqual(['B2', 'B3']);
    expect(report.pagesFreed).toBeGreaterThan(0);
    expect(system.store.db.pragma('auto_vacuum', { simple: true })).toBe(2);
    expect(system.store.db.pragma('freelist_count', { simple: true })).toBe(0);
  });

  it('account-remove-leaves-nothing: every row of the account goes, another account is untouched', async () => {
    system = await TwinboxSystem.start({ window: 3 });
    await system.desktop.deliver({ label: 'D1' });
    await system.sync();
    await system.addAccount('user2');
    const { token } = await system.addPhoneDevice('user2');
    const { PhoneMailbox } = await import('@twinbox/sync-server');
    new PhoneMailbox(system.store, 'user2').deliver({ raw: makeMessage({ label: 'U2' }) });
    await system.api('POST', '/api/v1/send', token, { to: ['a@example.test'], text: 'x', viaSync: true });
    const deviceIds = system.store.devices.list('user2').map((d) => d.id);
    expect(deviceIds.length).toBe(1);

    const removed = await system.serverCli(['account', 'remove', '--id', 'user2']);
    expect(removed.code, removed.stderr).toBe(0);
    expect(removed.stdout).toContain('account user2 removed with its 2 phone messages');
    const db = system.store.db;
    const tables = (db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'").all() as { name: string }[]).map((t) => t.name);
    for (const table of tables) {
      const columns = (db.prepare(`PRAGMA table_info(${table})`).all() as { name: string }[]).map((c) => c.name);
      if (columns.includes('account_id')) expect([table, (db.prepare(`SELECT COUNT(*) AS n FROM ${table} WHERE account_id = 'user2'`).get() as { n: number }).n]).toEqual([table, 0]);
      if (columns.includes('device_id')) expect([table, (db.prepare(`SELECT COUNT(*) AS n FROM ${table} WHERE device_id IN (${deviceIds.join(',')})`).get() as { n: number }).n]).toEqual([table, 0]);
    }
    expect(db.prepare("SELECT COUNT(*) AS n FROM accounts WHERE id = 'user2'").get()).toEqual({ n: 0 });
    expect((await system.api('GET', '/api/v1/status', token)).status).toBe(401);
    expect(system.phoneLabels()).toEqual(['D1']);
    await system.sync();
    expect((await system.serverCli(['account', 'remove', '--id', 'user2'])).code).toBe(1);
  });
});
