/**
 * The server on PostgreSQL when the database fails (issue 22, "bad input and
 * faults"; docs/scaling.md), real processes:
 *
 * - PostgreSQL killed in the middle of an initial sync: the node says it is
 *   not ready (`/readyz` 503, while `/healthz` still answers 200, so a load
 *   balancer takes it out without a watchdog restarting it), the sync fails
 *   as retryable (exit 75), and once PostgreSQL is back (crash recovery) the
 *   next sync resumes and converges: every message on both sides, once.
 * - A database whose schema is newer than this release is refused at start,
 *   with a message that says so.
 * - The connection string's password never reaches the server's output.
 */
import { request } from 'node:https';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TwinboxSystem, startPostgres, type Postgres, type TestDatabase } from '@twinbox/testkit';

/** The status of GET `path` on the server. */
function statusOf(port: number, path: string): Promise<number> {
  return new Promise((resolve) => {
    const req = request({ host: '127.0.0.1', port, path, rejectUnauthorized: false, timeout: 10_000 }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('error', () => resolve(0));
    req.on('timeout', () => req.destroy());
    req.end();
  });
}

describe('the server on PostgreSQL when the database fails', () => {
  let pg: Postgres;
  let db: TestDatabase;
  let system: TwinboxSystem;

  beforeAll(async () => {
    pg = await startPostgres();
    db = await pg.createDatabase();
    system = await TwinboxSystem.start({ window: 60, storeUrl: db.url });
  });
  afterAll(async () => {
    await system?.stop();
    await pg?.stop();
  });

  it('PostgreSQL killed mid-sync: not ready, the sync fails retryable, and once it is back the next sync converges', async () => {
    for (let i = 1; i <= 60; i++) await system.desktop.deliver({ label: `D${i}`, date: new Date(Date.UTC(2026, 11, 1, 8, i)), size: 20_000 });
    expect(await statusOf(system.port, '/readyz')).toBe(200);

    const first = system.runAgent();
    // Mid-sync: once the server has stored some of the initial sync, and not all of it.
    const stored = async () => Number(await pg.query('SELECT COUNT(*) FROM messages', db.name).catch(() => '0'));
    await expect.poll(stored, { timeout: 30_000, interval: 20 }).toBeGreaterThan(0);
    const before = await stored();
    await pg.kill();
    const failed = await first;
    console.log(`PostgreSQL killed with ${before} of 60 messages stored; the sync exited ${failed.code}`);
    expect(before).toBeLessThan(60);
    expect(failed.code, failed.stderr).toBe(75);

    // Down: not ready (a balancer takes the node out), yet alive (no watchdog restarts it).
    expect(await statusOf(system.port, '/readyz')).toBe(503);
    expect(await statusOf(system.port, '/healthz')).toBe(200);
    const meanwhile = await system.runAgent();
    expect(meanwhile.code, meanwhile.stderr).toBe(75);

    await pg.start();
    await expect.poll(() => statusOf(system.port, '/readyz'), { timeout: 30_000, interval: 250 }).toBe(200);
    // Back: the sync resumes (the pool makes new connections) and converges.
    let summary = await system.sync();
    for (let i = 0; i < 3 && summary.mode !== 'update'; i++) summary = await system.sync();
    await system.sync();
    const all = Array.from({ length: 60 }, (_, i) => `D${i + 1}`).sort();
    expect((await system.desktop.labels()).sort()).toEqual(all);
    expect((await system.phoneLabels()).sort()).toEqual(all);
    // A database outage is no fault of any message: nothing was counted against one (docs/quarantine.md).
    const agent = new Database(system.agentDatabase, { readonly: true });
    try {
      expect(agent.prepare('SELECT COUNT(*) AS n FROM quarantine').get()).toEqual({ n: 0 });
    } finally {
      agent.close();
    }
  });

  it('refuses a database whose schema is newer than this release, saying so', async () => {
    await pg.query('UPDATE twinbox_schema SET version = version + 100', db.name);
    try {
      await system.stopServer();
      await expect(system.startServer()).rejects.toThrow(/database schema version \d+ is newer than this server \(\d+\); upgrade Twinbox/);
    } finally {
      await pg.query('UPDATE twinbox_schema SET version = version - 100', db.name);
    }
    await system.startServer();
    expect(await statusOf(system.port, '/readyz')).toBe(200);
  });

  it("never shows the connection string's password in the server's output", () => {
    expect(db.password.length).toBeGreaterThan(8);
    expect(system.serverLog).not.toContain(db.password);
  });
});
