/**
 * The testkit's private PostgreSQL (issue 22), which the PostgreSQL store's
 * tests and the multi-node benchmark run on: Debian's server in a temp dir,
 * unprivileged, loopback only, on its own port; a database and login per
 * test; restarted, killed like a crash and stopped by its pid.
 */
import { execFile, spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { postgresBinaries, startPostgres, type Postgres } from '@twinbox/testkit';

/** psql as a client of the server would connect: by URL, over TCP. */
function psqlByUrl(url: string, sql: string): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(postgresBinaries()!.psql, ['-X', '-q', '-A', '-t', '-v', 'ON_ERROR_STOP=1', '-c', sql, url], { env: { ...process.env, PGCONNECT_TIMEOUT: '10' } }, (error, stdout, stderr) =>
      error ? reject(new Error(stderr || error.message)) : resolve(stdout.trim()),
    );
  });
}

/** A psql session that stays connected (reading its commands from a pipe) until `close`. */
function heldSession(url: string): { close: () => Promise<number | null> } {
  const child = spawn(postgresBinaries()!.psql, ['-X', '-q', url], { stdio: ['pipe', 'ignore', 'ignore'], env: { ...process.env, PGCONNECT_TIMEOUT: '10' } });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return {
    close: () => {
      child.stdin.end();
      return exited;
    },
  };
}

const uidOf = (pid: number) => Number(/^Uid:\s+(\d+)/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1]);
const childrenOf = (pid: number) => readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').split(/\s+/).filter(Boolean).map(Number);
const waitUntil = async (check: () => Promise<boolean> | boolean, timeoutMs: number) => {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 50));
  }
};

describe("the testkit's private PostgreSQL (issue 22)", () => {
  let pg: Postgres;

  beforeAll(async () => {
    pg = await startPostgres({ passwords: true });
  });
  afterAll(async () => {
    await pg?.stop();
  });

  it('runs as an unprivileged user, on its own port on 127.0.0.1 only, with its socket and files in its temp dir', async () => {
    expect(uidOf(pg.pid)).not.toBe(0);
    if (process.getuid?.() !== 0) expect(uidOf(pg.pid)).toBe(process.getuid?.());
    expect(pg.port).not.toBe(5432);
    expect(await pg.query('SHOW listen_addresses')).toBe('127.0.0.1');
    expect(await pg.query('SHOW unix_socket_directories')).toBe(pg.socketDir);
    expect((await pg.query('SHOW data_directory')).startsWith(pg.dir)).toBe(true);
    expect(pg.url).toBe(`postgres://postgres@127.0.0.1:${pg.port}/postgres`);
  });

  it('makes a database and its own login per test, reached by URL over TCP with its password, and refuses a wrong one', async () => {
    const db = await pg.createDatabase();
    const other = await pg.createDatabase();
    expect(other.name).not.toBe(db.name);
    expect(await psqlByUrl(db.url, 'SELECT current_user, current_database()')).toBe(`${db.user}|${db.name}`);
    await expect(psqlByUrl(db.url.replace(db.password, 'wrong'), 'SELECT 1')).rejects.toThrow(/password authentication failed/);
    await pg.dropDatabase(other.name);
    expect(await pg.query(`SELECT count(*) FROM pg_database WHERE datname = '${other.name}'`)).toBe('0');
  });

  it('counts the client connections open to a database', async () => {
    const db = await pg.createDatabase();
    expect(await pg.connections(db.name)).toBe(0);
    const first = heldSession(db.url);
    const second = heldSession(db.url);
    await waitUntil(async () => (await pg.connections(db.name)) === 2, 10_000);
    await waitUntil(async () => (await pg.connections()) === 2, 10_000); // all databases: only these two
    expect(await first.close()).toBe(0);
    await waitUntil(async () => (await pg.connections(db.name)) === 1, 10_000);
    expect(await second.close()).toBe(0);
    await waitUntil(async () => (await pg.connections(db.name)) === 0, 10_000);
  });

  it('restarts on the same port with its data; a connection open across the restart is cut', async () => {
    const db = await pg.createDatabase();
    await psqlByUrl(db.url, 'CREATE TABLE kept (n int); INSERT INTO kept VALUES (1), (2)');
    const before = pg.pid;
    // Settled as soon as the restart cuts it (a rejection left unheard until then would count as unhandled).
    const cut = psqlByUrl(db.url, 'SELECT pg_sleep(30)').then(() => 'finished', (err: Error) => err.message);
    await waitUntil(async () => (await pg.connections(db.name)) === 1, 5000);
    await pg.restart();
    expect(await cut).toMatch(/terminat|server closed the connection/i);
    expect(pg.pid).not.toBe(before);
    expect(await psqlByUrl(db.url, 'SELECT sum(n) FROM kept')).toBe('3');
  });

  it('is killed like a crash — the postmaster and every backend — and starts again with every committed row', async () => {
    const db = await pg.createDatabase();
    await psqlByUrl(db.url, 'CREATE TABLE committed (n int); INSERT INTO committed SELECT generate_series(1, 1000)');
    const pid = pg.pid;
    const backends = childrenOf(pid);
    expect(backends.length).toBeGreaterThan(0);
    await pg.kill();
    expect(pg.running).toBe(false);
    expect([pid, ...backends].filter((p) => existsSync(`/proc/${p}`) && !/^State:\s+Z/m.test(readFileSync(`/proc/${p}/status`, 'utf8')))).toEqual([]);
    await pg.start();
    expect(await psqlByUrl(db.url, 'SELECT count(*) FROM committed')).toBe('1000');
    expect(pg.log()).toMatch(/not properly shut down|interrupted/);
  });

  it('stops by its pid and leaves no files behind', async () => {
    const second = await startPostgres();
    const { pid, dir } = second;
    expect(second.port).not.toBe(pg.port);
    await second.stop();
    expect(existsSync(`/proc/${pid}`)).toBe(false);
    expect(existsSync(dir)).toBe(false);
  });
});
