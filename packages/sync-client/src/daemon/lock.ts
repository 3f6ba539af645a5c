/**
 * One agent per database: a lock file holding the owner's pid, created
 * exclusively. A lock whose process is gone (killed) is stale and taken over.
 */
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { TwinboxError } from '@twinbox/protocol';

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** The pid of the agent holding the lock, if one is running. */
export function lockHolder(path: string): number | undefined {
  try {
    const pid = Number(readFileSync(path, 'utf8').trim());
    return Number.isInteger(pid) && pid > 0 && pid !== process.pid && alive(pid) ? pid : undefined;
  } catch {
    return undefined;
  }
}

export function acquireLock(path: string): () => void {
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      writeFileSync(path, `${process.pid}\n`, { flag: 'wx' });
      return () => rmSync(path, { force: true });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const holder = lockHolder(path);
      if (holder) throw new TwinboxError('BUSY', `another agent (pid ${holder}) is using this database (${path})`);
      rmSync(path, { force: true });
    }
  }
  throw new TwinboxError('BUSY', `could not take the lock ${path}`);
}

/** The lock file of an agent's database: held by whichever process syncs it (the background agent, or a one-off sync). */
export function lockPathOf(config: { database: string }): string {
  return `${config.database}.lock`;
}
