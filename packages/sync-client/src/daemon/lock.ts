/**
 * One agent per database: a lock file beside it (`agent.db.lock`) that says
 * who holds it — the process id, the process's start time (Linux
 * /proc/PID/stat, in clock ticks since boot), whether it is the background
 * agent (`run`) or a one-off `sync`, and the control socket it answers on
 * (control-socket.ts). Nobody is ever signalled: a second `sync` asks the
 * holder over its socket.
 *
 * A lock is **stale** when its process is gone or the process with that id
 * is another one (a different start time: the id was reused after a crash);
 * a stale lock is taken over, and its process left alone. Two processes that
 * find the same stale lock at once take turns through a `.break` file made
 * exclusively, so only one of them replaces it. Where /proc is missing the
 * start time is unknown and a live process id is taken for the holder.
 *
 * A lock written by an agent from before (a bare process id) is held only
 * while that id is a running twinbox-agent (its command line says so); it
 * has no socket to ask.
 */
import { readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { TwinboxError } from '@twinbox/protocol';

export interface LockRecord {
  pid: number;
  /** The holder's start time (field 22 of /proc/PID/stat); null where unknown. */
  started: string | null;
  /** The background agent, or a one-off sync. */
  role: 'run' | 'sync';
  /** Where the holder answers requests (control-socket.ts). */
  socket: string;
}

const AGENT_COMMAND = /twinbox-agent|sync-client\/dist\/cli\.js/;

/** A process's start time in clock ticks since boot (Linux), or null. */
export function processStartTime(pid: number): string | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) is in parentheses and may hold spaces: count fields after its closing one.
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19] ?? null;
  } catch {
    return null;
  }
}

function exists(pid: number): boolean {
  try {
    process.kill(pid, 0); // signal 0: delivers nothing, only asks whether the process exists
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function readRecord(path: string): LockRecord | undefined {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
  try {
    const r = JSON.parse(text) as Partial<LockRecord>;
    if (Number.isSafeInteger(r.pid) && r.pid! > 0 && typeof r.socket === 'string') return { pid: r.pid!, started: r.started ?? null, role: r.role === 'run' ? 'run' : 'sync', socket: r.socket };
  } catch {
    // Not JSON: a lock file of an agent from before (a bare pid), or one cut short by a crash.
  }
  const pid = Number(text.trim());
  if (Number.isSafeInteger(pid) && pid > 0 && AGENT_COMMAND.test(commandLine(pid))) return { pid, started: null, role: 'run', socket: '' };
  return { pid: 0, started: null, role: 'sync', socket: '' };
}

function commandLine(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ');
  } catch {
    return '';
  }
}

/** Is the recorded holder this very process, still running? */
function live(record: LockRecord): boolean {
  if (record.pid <= 0 || record.pid === process.pid || !exists(record.pid)) return false;
  if (record.started === null) return true;
  const now = processStartTime(record.pid);
  return now === null || now === record.started;
}

/** The holder of the lock, if it is held by a live process (a stale lock has none). */
export function lockHolder(path: string): LockRecord | undefined {
  const record = readRecord(path);
  return record && live(record) ? record : undefined;
}

export type LockAttempt = { acquired: true; release: () => void } | { acquired: false; holder: LockRecord };

/** Take the lock for this process, or hear who holds it. A stale lock is taken over. */
export function tryAcquireLock(path: string, role: LockRecord['role'], socket: string): LockAttempt {
  const mine: LockRecord = { pid: process.pid, started: processStartTime(process.pid), role, socket };
  const text = `${JSON.stringify(mine)}\n`;
  for (let attempt = 0; attempt < 50; attempt++) {
    try {
      writeFileSync(path, text, { flag: 'wx', mode: 0o600 });
      return { acquired: true, release: () => releaseIfMine(path, text) };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    const holder = lockHolder(path);
    if (holder) return { acquired: false, holder };
    breakStaleLock(path);
  }
  throw new TwinboxError('BUSY', `could not take the lock ${path} (it keeps changing hands)`);
}

/** Remove a stale lock, one process at a time (`.break` is made exclusively; one left by a crash lapses after 10 s). */
function breakStaleLock(path: string): void {
  const breaker = `${path}.break`;
  try {
    writeFileSync(breaker, `${process.pid}\n`, { flag: 'wx', mode: 0o600 });
  } catch {
    try {
      if (Date.now() - statSync(breaker).mtimeMs > 10_000) rmSync(breaker, { force: true });
    } catch {
      // gone meanwhile
    }
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 20); // let the other breaker finish
    return;
  }
  try {
    const record = readRecord(path);
    if (record && !live(record)) rmSync(path, { force: true });
  } finally {
    rmSync(breaker, { force: true });
  }
}

function releaseIfMine(path: string, text: string): void {
  try {
    if (readFileSync(path, 'utf8') === text) rmSync(path, { force: true });
  } catch {
    // already gone
  }
}

/** The lock file of an agent's database: held by whichever process syncs it (the background agent, or a one-off sync). */
export function lockPathOf(config: { database: string }): string {
  return `${config.database}.lock`;
}
