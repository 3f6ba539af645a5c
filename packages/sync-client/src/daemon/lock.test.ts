import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { lockHolder, processStartTime, tryAcquireLock } from './lock.js';

const lockIn = () => join(mkdtempSync(join(tmpdir(), 'twinbox-lock-')), 'agent.db.lock');

describe('the agent lock', () => {
  it('is taken, names its holder, and is released only by it', () => {
    const path = lockIn();
    const mine = tryAcquireLock(path, 'sync', '/tmp/x.sock');
    expect(mine.acquired).toBe(true);
    expect(JSON.parse(readFileSync(path, 'utf8'))).toEqual({ pid: process.pid, started: processStartTime(process.pid), role: 'sync', socket: '/tmp/x.sock' });
    if (mine.acquired) mine.release();
    expect(existsSync(path)).toBe(false);
  });

  it('a live holder is reported, not replaced (checked by process id and start time)', async () => {
    const path = lockIn();
    const other = spawn('sleep', ['30'], { stdio: 'ignore' });
    try {
      await new Promise((resolve) => other.once('spawn', resolve));
      const record = { pid: other.pid!, started: processStartTime(other.pid!), role: 'run', socket: '/tmp/run.sock' };
      writeFileSync(path, JSON.stringify(record));
      expect(lockHolder(path)).toEqual(record);
      const attempt = tryAcquireLock(path, 'sync', '/tmp/y.sock');
      expect(attempt).toEqual({ acquired: false, holder: record });
      // The same process id with another start time is another process: the lock is stale, taken over.
      writeFileSync(path, JSON.stringify({ ...record, started: '1' }));
      expect(lockHolder(path)).toBeUndefined();
      const taken = tryAcquireLock(path, 'sync', '/tmp/y.sock');
      expect(taken.acquired).toBe(true);
      expect(other.exitCode).toBeNull();
      if (taken.acquired) taken.release();
    } finally {
      other.kill('SIGKILL');
    }
  });

  it('a lock of a process that is gone, an old bare pid or an empty file is stale', () => {
    for (const stale of [JSON.stringify({ pid: 2 ** 22 + 12345, started: '5', role: 'run', socket: '/x' }), `${process.ppid}\n`, '']) {
      const path = lockIn();
      writeFileSync(path, stale);
      expect(lockHolder(path)).toBeUndefined();
      const taken = tryAcquireLock(path, 'run', '/tmp/z.sock');
      expect(taken.acquired).toBe(true);
      if (taken.acquired) taken.release();
    }
  });
});
