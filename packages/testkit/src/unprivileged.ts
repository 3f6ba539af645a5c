/**
 * Who a private test daemon (PostgreSQL, HAProxy) runs as: never root. As an
 * ordinary user it runs as that user; as root it drops to a system user
 * (the one named, when the machine has it — `postgres` for PostgreSQL — else
 * `nobody`), spawned with that uid/gid on a temp dir chowned to it
 * (docs: /work/shared/notes/environment-facts.md, "initdb refuses root").
 */
import { execFileSync } from 'node:child_process';
import { chownSync, readdirSync, statSync } from 'node:fs';
import { userInfo } from 'node:os';
import { join } from 'node:path';

export interface RunAs {
  uid: number;
  gid: number;
  user: string;
  /** True when the daemon runs as another user than this process (spawn it with `spawnIdentity`). */
  dropped: boolean;
}

function idOf(user: string): { uid: number; gid: number } | undefined {
  try {
    const uid = Number(execFileSync('id', ['-u', user], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim());
    const gid = Number(execFileSync('id', ['-g', user], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim());
    return Number.isInteger(uid) && Number.isInteger(gid) ? { uid, gid } : undefined;
  } catch {
    return undefined;
  }
}

/** The identity to run a daemon as: this user, or (as root) `preferred` if it exists, else nobody. */
export function unprivilegedIdentity(preferred?: string): RunAs {
  const me = userInfo();
  if (me.uid !== 0) return { uid: me.uid, gid: me.gid, user: me.username, dropped: false };
  for (const user of [...(preferred ? [preferred] : []), 'nobody']) {
    const ids = idOf(user);
    if (ids && ids.uid !== 0) return { ...ids, user, dropped: true };
  }
  throw new Error('running as root and no unprivileged user (nobody) to run a test daemon as');
}

/** The `spawn` options that run a child as `who`. */
export function spawnIdentity(who: RunAs): { uid?: number; gid?: number } {
  return who.dropped ? { uid: who.uid, gid: who.gid } : {};
}

/** Give a whole tree to `who` (a no-op when it is this process's user). */
export function chownTreeTo(path: string, who: RunAs): void {
  if (!who.dropped) return;
  chownSync(path, who.uid, who.gid);
  if (statSync(path).isDirectory()) for (const entry of readdirSync(path)) chownTreeTo(join(path, entry), who);
}
