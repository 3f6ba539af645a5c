/**
 * `twinbox-server store migrate --to postgres://…` (issue 22;
 * docs/scaling.md), on a database made by this release through real use:
 * synced desktop mail, a phone arrival and a phone change waiting for the
 * desktop, a device. The copy is verified, a second run changes nothing, a
 * database holding other data is refused, and the server started on
 * PostgreSQL goes on where SQLite left off: the next sync is an update (the
 * pairing and mapping state came along), the waiting change reaches the
 * desktop, and new phone ids continue past the old ones.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ServerStore } from '@twinbox/sync-server';
import { TwinboxSystem, startPostgres, type Postgres } from '@twinbox/testkit';

describe('store migrate from SQLite to PostgreSQL', () => {
  let pg: Postgres | undefined;
  let system: TwinboxSystem | undefined;
  afterAll(async () => {
    await system?.stop();
    await pg?.stop();
  });

  it('copies and verifies everything, is safe to run again, and the server goes on from there', async () => {
    pg = await startPostgres();
    system = await TwinboxSystem.start({ window: 10 });
    for (let i = 1; i <= 6; i++) await system.desktop.deliver({ label: `D${i}`, date: new Date(Date.UTC(2026, 11, 1, 8, i)) });
    await system.phoneDeliver({ label: 'P1', date: new Date(Date.UTC(2026, 11, 1, 9, 0)) });
    await system.sync();
    await system.addDevice();
    // Waits for the desktop: a phone change made after the last sync.
    await system.phone().markRead(await system.phoneId('D3'));
    const before = await system.phoneMessages('inbox');
    const lastId = Math.max(...before.map((m) => m.id));
    await system.closeStore();
    await system.stopServer();

    const url = (await pg.createDatabase()).url;
    const first = await system.serverCli(['store', 'migrate', '--to', url, '--json']);
    expect(first.code, first.stderr).toBe(0);
    const report = JSON.parse(first.stdout) as { outcome: string; to: string; tables: { table: string; rows: number }[] };
    expect(report.outcome).toBe('copied');
    expect(report.to).not.toContain(new URL(url).password);
    const rows = Object.fromEntries(report.tables.map((t) => [t.table, t.rows]));
    expect(rows).toMatchObject({ accounts: 1, messages: 7, devices: 1, server_actions: 1, sync_state: 1 });

    const again = await system.serverCli(['store', 'migrate', '--to', url]);
    expect(again.code, again.stderr).toBe(0);
    expect(again.stdout).toMatch(/already holds this database/);

    // A database with other data in it is not overwritten.
    const otherUrl = (await pg.createDatabase()).url;
    const other = await ServerStore.open(otherUrl);
    await other.accounts.add({ id: 'someone-else', desktopAddress: 'x@desk.example' });
    await other.close();
    const refused = await system.serverCli(['store', 'migrate', '--to', otherUrl]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/already holds other data/);

    // The server on PostgreSQL: the same mailbox, the same pairing.
    const path = join(system.serverDir, 'config.json');
    const config = JSON.parse(readFileSync(path, 'utf8')) as Record<string, unknown>;
    delete config.database;
    config.store = { kind: 'postgres', url };
    writeFileSync(path, JSON.stringify(config, null, 2));
    system.useStoreAt(url);
    await system.startServer();
    expect(await system.phoneMessages('inbox')).toEqual(before);
    const summary = await system.sync();
    expect(summary.mode).toBe('update');
    expect((await system.desktop.list('INBOX')).find((m) => m.label === 'D3')?.seen).toBe(true);
    const p2 = await system.phoneDeliver({ label: 'P2' });
    expect(p2).toBeGreaterThan(lastId);
    await system.sync();
    expect((await system.desktop.list('INBOX')).map((m) => m.label).sort()).toEqual(['D1', 'D2', 'D3', 'D4', 'D5', 'D6', 'P1', 'P2']);
  });
});
