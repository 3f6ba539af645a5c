/**
 * A private PostgreSQL (Debian's package) for tests and benchmarks (issue
 * 22): `initdb` in a temp dir, the postmaster in the foreground as our child
 * on its own port on 127.0.0.1 (never 5432: ports come from `freePort`) with
 * its socket in the temp dir, run as an unprivileged user (as root: the
 * `postgres` system user, else nobody). Trust authentication on loopback and
 * the socket only (or passwords on TCP with `passwords: true`). Stopped by its
 * pid (SIGINT: a fast shutdown), its files removed.
 *
 * The handle gives the superuser's URL, a database and login per test
 * (`createDatabase`), `restart` (a fast shutdown and start on the same port
 * and files: "PostgreSQL restarted mid-sync") and `kill` (SIGKILL to the
 * postmaster and its backends: a crash; `start` after it runs crash recovery).
 *
 * Administration (creating databases, counting connections) goes through
 * `psql` on the socket, so the testkit needs no PostgreSQL driver.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { appendFileSync, closeSync, existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { freePort } from './dovecot.js';
import { isExecutable } from './executable.js';
import { chownTreeTo, spawnIdentity, unprivilegedIdentity, type RunAs } from './unprivileged.js';

export interface PostgresBinaries {
  /** Folder of `postgres` and `initdb`. */
  bin: string;
  postgres: string;
  initdb: string;
  psql: string;
}

/**
 * Debian keeps the server programs in /usr/lib/postgresql/<major>/bin (not on
 * the PATH): the newest major there, else the PATH; TWINBOX_PG_BIN names a
 * folder to use instead.
 */

export function postgresBinaries(): PostgresBinaries | undefined {
  const dirs: string[] = [];
  if (process.env.TWINBOX_PG_BIN) dirs.push(process.env.TWINBOX_PG_BIN);
  if (existsSync('/usr/lib/postgresql')) {
    const majors = readdirSync('/usr/lib/postgresql').filter((v) => /^\d+$/.test(v)).sort((a, b) => Number(b) - Number(a));
    dirs.push(...majors.map((v) => `/usr/lib/postgresql/${v}/bin`));
  }
  dirs.push(...(process.env.PATH ?? '').split(delimiter).filter(Boolean));
  const bin = dirs.find((d) => isExecutable(join(d, 'postgres')) && isExecutable(join(d, 'initdb')));
  if (!bin) return undefined;
  const psql = [bin, ...(process.env.PATH ?? '').split(delimiter)].map((d) => join(d, 'psql')).find(isExecutable);
  if (!psql) return undefined;
  return { bin, postgres: join(bin, 'postgres'), initdb: join(bin, 'initdb'), psql };
}

export function postgresAvailable(): boolean {
  return postgresBinaries() !== undefined;
}

export interface PostgresOptions {
  /** The superuser's name (default `postgres`). */
  superuser?: string;
  /** Port on 127.0.0.1 (default: a free one). */
  port?: number;
  /** Require passwords (scram-sha-256) on TCP; the socket stays trusted for administration. Default: trust. */
  passwords?: boolean;
  /**
   * Durable commits (fsync on), for benchmarks compared with SQLite's `synchronous = FULL`. Tests run without
   * fsync: nothing is lost when the process is killed (commits still reach the kernel), only on a machine crash.
   */
  durable?: boolean;
  /** More postgresql.conf settings (e.g. `{ max_connections: '200' }`). */
  settings?: Record<string, string | number>;
}

export interface TestDatabase {
  name: string;
  user: string;
  password: string;
  /** postgres://user:password@127.0.0.1:port/name */
  url: string;
}

export interface Postgres {
  host: '127.0.0.1';
  port: number;
  dir: string;
  /** The folder of its Unix socket (`-h` for psql). */
  socketDir: string;
  superuser: string;
  /** The superuser's URL, database `postgres`. */
  url: string;
  /** The postmaster's pid. */
  pid: number;
  /** Whether the postmaster is running. */
  running: boolean;
  /** A URL for this database (and user; default the superuser). */
  urlFor(database: string, user?: { name: string; password?: string }): string;
  /** A new database owned by a new login role of the same name (random unless named). */
  createDatabase(name?: string): Promise<TestDatabase>;
  dropDatabase(name: string): Promise<void>;
  /** Run SQL as the superuser through psql; its unaligned output, rows by line and fields by `|`. */
  query(sql: string, database?: string): Promise<string>;
  /** Client connections open now (in a database, or all), not counting the one that asks. */
  connections(database?: string): Promise<number>;
  /** Its log so far (stderr of the postmaster). */
  log(): string;
  /** Start again after `stop({ keepFiles: true })`, `kill` or a crash: same port, same files. */
  start(): Promise<void>;
  /** A fast shutdown and a start on the same port and files. */
  restart(): Promise<void>;
  /** SIGKILL to the postmaster and every backend (a crash); `start` runs crash recovery. */
  kill(): Promise<void>;
  /** A fast shutdown (SIGINT) and, unless kept, its files removed. */
  stop(options?: { keepFiles?: boolean }): Promise<void>;
}

const IDENTIFIER = /^[a-z_][a-z0-9_]{0,62}$/;

function run(file: string, args: string[], options: { env?: NodeJS.ProcessEnv; uid?: number; gid?: number } = {}): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(file, args, { ...options, maxBuffer: 16 * 1024 * 1024 }, (error, stdout, stderr) => {
      if (error) reject(new Error(`${file} ${args.join(' ')} failed: ${stderr || error.message}`));
      else resolve(stdout);
    });
  });
}

/** The direct children of a process (the postmaster's backends), read from /proc. */
function childrenOf(pid: number): number[] {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').split(/\s+/).filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

/** A process's state letter from /proc (R, S, T stopped, Z zombie, …), or undefined once it is gone. */
function stateOf(pid: number): string | undefined {
  try {
    return /^State:\s+(\S)/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
  } catch {
    return undefined;
  }
}

/** Alive: not gone and not a zombie (dead, not yet reaped by whoever inherited it). */
const alive = (pid: number) => {
  const state = stateOf(pid);
  return state !== undefined && state !== 'Z';
};

function signal(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(pid, sig);
  } catch {
    // gone already
  }
}

/** Until `check` holds; an error saying what did not happen after `timeoutMs`. */
async function until(check: () => boolean, what: () => string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`${what()} within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

function config(dir: string, port: number, options: PostgresOptions): string {
  const settings: Record<string, string | number> = {
    port,
    listen_addresses: "'127.0.0.1'",
    unix_socket_directories: `'${join(dir, 'sock')}'`,
    logging_collector: 'off',
    log_destination: "'stderr'",
    log_line_prefix: "'%m [%p] '",
    shared_buffers: "'32MB'",
    huge_pages: 'off',
    max_connections: 100,
    ...(options.durable ? {} : { fsync: 'off', full_page_writes: 'off' }),
    ...options.settings,
  };
  return `\n# Twinbox testkit (packages/testkit/src/postgres.ts)\n${Object.entries(settings).map(([k, v]) => `${k} = ${v}`).join('\n')}\n`;
}

export async function startPostgres(options: PostgresOptions = {}): Promise<Postgres> {
  const binaries = postgresBinaries();
  if (!binaries) {
    throw new Error(
      "no PostgreSQL server (postgres, initdb and psql) in /usr/lib/postgresql/<major>/bin, TWINBOX_PG_BIN or on the PATH: run scripts/install-system-deps.sh (Debian's postgresql package)",
    );
  }
  const superuser = options.superuser ?? 'postgres';
  if (!IDENTIFIER.test(superuser)) throw new Error(`superuser ${superuser} is not a plain lower-case name`);
  const who: RunAs = unprivilegedIdentity('postgres');
  const dir = mkdtempSync(join(tmpdir(), 'twinbox-pg-'));
  const data = join(dir, 'data');
  const socketDir = join(dir, 'sock');
  const logFile = join(dir, 'postgres.log');
  mkdirSync(socketDir);
  writeFileSync(logFile, '');
  chownTreeTo(dir, who);
  const port = options.port ?? (await freePort());
  try {
    await run(binaries.initdb, ['-D', data, '-U', superuser, '-A', 'trust', '-E', 'UTF8', '--no-locale', '--no-sync', '--no-instructions'], {
      ...spawnIdentity(who),
      env: { ...process.env, LC_ALL: 'C', LANG: 'C' },
    });
  } catch (err) {
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
  // Loopback and the socket only; the cluster listens on 127.0.0.1 alone (config below).
  const tcp = options.passwords ? 'scram-sha-256' : 'trust';
  writeFileSync(join(data, 'pg_hba.conf'), `# Twinbox testkit\nlocal all all trust\nhost all all 127.0.0.1/32 ${tcp}\n`);
  appendFileSync(join(data, 'postgresql.conf'), config(dir, port, options));
  chownTreeTo(dir, who);

  let child: ChildProcess | undefined;
  let exited: Promise<void> = Promise.resolve();
  const isRunning = () => child !== undefined && child.exitCode === null && child.signalCode === null;
  const readLog = () => (existsSync(logFile) ? readFileSync(logFile, 'utf8') : '');

  const launch = async () => {
    // A postmaster killed a moment ago may leave backends finishing: a start that finds them says so; try again.
    for (let attempt = 1; ; attempt++) {
      const logFd = openSync(logFile, 'a');
      const started = spawn(binaries.postgres, ['-D', data], { stdio: ['ignore', logFd, logFd], ...spawnIdentity(who) });
      closeSync(logFd);
      child = started;
      // A spawn that fails (EACCES, ENOENT) emits 'error' and no 'exit': either ends it.
      let spawnError: Error | undefined;
      exited = new Promise((resolve) => {
        started.once('exit', () => resolve());
        started.once('error', (err) => {
          spawnError = err;
          resolve();
        });
      });
      const failed = exited.then(() => {
        if (spawnError) throw new Error(`postgres did not start: ${spawnError.message}`);
        throw new Error(`postgres exited at start (${started.exitCode ?? started.signalCode}): ${readLog().slice(-2000)}`);
      });
      try {
        await Promise.race([ready(data, port, 30_000), failed]);
        return;
      } catch (err) {
        if (isRunning()) {
          started.kill('SIGKILL');
          await exited;
        }
        const retry = /pre-existing shared memory block|lock file .* already exists|could not bind/i.test((err as Error).message);
        if (!retry || attempt >= 10) throw err;
        await new Promise((r) => setTimeout(r, 300));
      }
    }
  };

  const shutdown = async () => {
    if (!child || !isRunning()) return;
    const pid = child.pid!;
    process.kill(pid, 'SIGINT'); // fast shutdown: roll back open transactions, end sessions, checkpoint
    const timer = setTimeout(() => {
      for (const backend of childrenOf(pid)) signal(backend, 'SIGKILL');
      if (isRunning()) signal(pid, 'SIGKILL');
    }, 20_000);
    await exited;
    clearTimeout(timer);
  };

  const psql = (sql: string, database = 'postgres') =>
    run(binaries.psql, ['-X', '-q', '-A', '-t', '-v', 'ON_ERROR_STOP=1', '-h', socketDir, '-p', String(port), '-U', superuser, '-d', database, '-c', sql], {
      env: { ...process.env, PGCONNECT_TIMEOUT: '10' },
    }).then((out) => out.trim());

  const urlFor = (database: string, user?: { name: string; password?: string }) => {
    const auth = user ? `${encodeURIComponent(user.name)}${user.password ? `:${encodeURIComponent(user.password)}` : ''}` : superuser;
    return `postgres://${auth}@127.0.0.1:${port}/${encodeURIComponent(database)}`;
  };

  try {
    await launch();
  } catch (err) {
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }

  return {
    host: '127.0.0.1',
    port,
    dir,
    socketDir,
    superuser,
    url: urlFor('postgres'),
    get pid() {
      if (!child?.pid) throw new Error('postgres is not running');
      return child.pid;
    },
    get running() {
      return isRunning();
    },
    urlFor,
    createDatabase: async (name = `t_${randomBytes(6).toString('hex')}`) => {
      if (!IDENTIFIER.test(name)) throw new Error(`database name ${name} is not a plain lower-case name`);
      const password = randomBytes(12).toString('hex');
      await psql(`CREATE ROLE "${name}" LOGIN PASSWORD '${password}'`);
      await psql(`CREATE DATABASE "${name}" OWNER "${name}"`);
      return { name, user: name, password, url: urlFor(name, { name, password }) };
    },
    dropDatabase: async (name) => {
      if (!IDENTIFIER.test(name)) throw new Error(`database name ${name} is not a plain lower-case name`);
      await psql(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
      await psql(`DROP ROLE IF EXISTS "${name}"`);
    },
    query: psql,
    connections: async (database) => {
      const where = database === undefined ? '' : ` AND datname = '${database.replace(/'/g, "''")}'`;
      return Number(await psql(`SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'client backend' AND pid <> pg_backend_pid()${where}`));
    },
    log: readLog,
    start: async () => {
      if (!isRunning()) await launch();
    },
    restart: async () => {
      await shutdown();
      await launch();
    },
    kill: async () => {
      if (!child || !isRunning()) return;
      const pid = child.pid!;
      // Stopped first, so that it starts no backend between the list of its children and the kill.
      signal(pid, 'SIGSTOP');
      await until(
        () => ['T', 'Z', undefined].includes(stateOf(pid)),
        () => `postgres ${pid} did not stop on SIGSTOP (state ${stateOf(pid)})`,
      );
      const backends = childrenOf(pid);
      signal(pid, 'SIGKILL');
      for (const backend of backends) signal(backend, 'SIGKILL');
      await exited;
      // A signal is delivered after kill() returns: done once every backend is dead, as after a crash.
      await until(
        () => !backends.some(alive),
        () => `postgres backends ${backends.filter(alive).join(', ')} did not end on SIGKILL`,
      );
    },
    stop: async (stopOptions = {}) => {
      await shutdown();
      if (!stopOptions.keepFiles) rmSync(dir, { recursive: true, force: true, maxRetries: 5, retryDelay: 100 });
    },
  };
}

/**
 * Ready when the postmaster says so in postmaster.pid (its 8th line is
 * `ready` once it accepts connections) and its port answers.
 */
async function ready(data: string, port: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    let status = '';
    try {
      status = readFileSync(join(data, 'postmaster.pid'), 'utf8').split('\n')[7]?.trim() ?? '';
    } catch {
      // not written yet
    }
    if (status === 'ready' && (await answers(port))) return;
    if (Date.now() > deadline) throw new Error(`postgres did not become ready on port ${port} within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

function answers(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}
