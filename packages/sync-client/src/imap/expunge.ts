/**
 * Removing messages for good without touching anything else (issue 10).
 *
 * A plain EXPUNGE removes every message marked \Deleted in the folder,
 * including those the user only *marked* (Thunderbird's "mark as deleted"
 * mode, Courier's and many webmails' default). A sync must never remove a
 * message it was not asked to remove, so:
 *
 * - with UIDPLUS: STORE +FLAGS \Deleted and UID EXPUNGE of exactly these UIDs
 *   (RFC 4315 §2.1);
 * - without it, or where the server advertises UIDPLUS and refuses UID
 *   EXPUNGE (fallbacks.ts): the other \Deleted messages are unmarked first,
 *   the folder is expunged, and their marks are put back (what careful
 *   clients do; a mark the user sets in that instant on another connection
 *   can still be lost to that EXPUNGE — the only way such a server allows).
 *
 * The agent's own connections never run that dance at the same time (issue
 * 18): the sync and the desktop watcher each have a connection to the same
 * mailbox, and two interleaved protected expunges would unmark, expunge and
 * re-mark each other's messages (one's EXPUNGE catching what the other had
 * just marked back). Every expunge of one mailbox (user@host:port) in this
 * process waits for the one before it (`oneAtATime`).
 *
 * imapflow's own messageDelete falls back to a plain EXPUNGE without UIDPLUS,
 * so every removal goes through here. The folder must be selected.
 */
import type { ImapFlow } from 'imapflow';
import { TwinboxError } from '@twinbox/protocol';
import { REFUSED, type ImapFallbacks } from './fallbacks.js';

export type ExpungeMethod = 'uid-expunge' | 'protected-expunge';

export function expungeMethod(client: ImapFlow, fallbacks: ImapFallbacks): ExpungeMethod {
  return client.capabilities.has('UIDPLUS') && !fallbacks.refused('uidExpunge') ? 'uid-expunge' : 'protected-expunge';
}

/** Compact UID set (RFC 3501 §9): runs become ranges. */
export function uidSet(uids: number[]): string {
  const sorted = [...new Set(uids)].sort((a, b) => a - b);
  const parts: string[] = [];
  for (let i = 0; i < sorted.length; ) {
    let j = i;
    while (j + 1 < sorted.length && sorted[j + 1] === sorted[j]! + 1) j++;
    parts.push(j === i ? String(sorted[i]) : `${sorted[i]}:${sorted[j]}`);
    i = j + 1;
  }
  return parts.join(',');
}

/** The expunge under way per mailbox in this process; the next one waits for it. */
const expunging = new Map<string, Promise<unknown>>();

/** Run `work` when no other expunge of this mailbox (fallbacks.server) runs in this process. */
export async function oneAtATime<T>(mailbox: string, work: () => Promise<T>): Promise<T> {
  const before = expunging.get(mailbox) ?? Promise.resolve();
  const mine = before.then(work, work);
  const settled = mine.catch(() => undefined);
  expunging.set(mailbox, settled);
  try {
    return await mine;
  } finally {
    if (expunging.get(mailbox) === settled) expunging.delete(mailbox);
  }
}

/** Remove exactly these messages from the selected folder (see above); `fallbacks` knows whether UID EXPUNGE works here. */
export async function expungeExactly(client: ImapFlow, fallbacks: ImapFallbacks, uids: number[]): Promise<void> {
  if (uids.length === 0) return;
  await oneAtATime(fallbacks.server, async () => {
    const set = uidSet(uids);
    if (expungeMethod(client, fallbacks) === 'uid-expunge') {
      const done = await fallbacks.attempt('uidExpunge', `UID EXPUNGE ${set}`, () => client.messageDelete(set, { uid: true }));
      if (done !== REFUSED) return;
    }
    // From here on imapflow must send a plain EXPUNGE: it would send UID EXPUNGE wherever UIDPLUS is advertised.
    client.capabilities.delete('UIDPLUS');
    await protectedExpunge(client, uids, set);
  });
}

async function protectedExpunge(client: ImapFlow, uids: number[], set: string): Promise<void> {
  // A SEARCH answers from this session's view of the folder, which only a command like NOOP brings up to date
  // (Dovecot): a mark set or taken off on another connection since — the user's, the desktop watcher's — would be
  // missed, and the EXPUNGE, which goes by the folder as it is, would take a message the search did not see.
  await client.noop();
  const marked = await client.search({ deleted: true }, { uid: true });
  if (marked === false || marked === undefined) throw new TwinboxError('IMAP', 'IMAP SEARCH DELETED failed');
  const mine = new Set(uids);
  const others = marked.filter((uid) => !mine.has(uid));
  if (others.length > 0 && !(await client.messageFlagsRemove(uidSet(others), ['\\Deleted'], { uid: true }))) {
    throw new TwinboxError('IMAP', 'IMAP STORE -FLAGS \\Deleted (protecting the user\'s marked messages) failed');
  }
  try {
    if (!(await client.messageDelete(set, { uid: true }))) throw new TwinboxError('IMAP', `IMAP EXPUNGE of ${set} failed`);
  } finally {
    if (others.length > 0) await client.messageFlagsAdd(uidSet(others), ['\\Deleted'], { uid: true });
  }
}
