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
 * - without it: the other \Deleted messages are unmarked first, the folder is
 *   expunged, and their marks are put back (what careful clients do; a mark
 *   the user sets in that instant on another connection can still be lost to
 *   that EXPUNGE — the only way a server without UIDPLUS allows).
 *
 * imapflow's own messageDelete falls back to a plain EXPUNGE without UIDPLUS,
 * so every removal goes through here. The folder must be selected.
 */
import type { ImapFlow } from 'imapflow';
import { TwinboxError } from '@twinbox/protocol';

export type ExpungeMethod = 'uid-expunge' | 'protected-expunge';

export function expungeMethod(client: ImapFlow): ExpungeMethod {
  return client.capabilities.has('UIDPLUS') ? 'uid-expunge' : 'protected-expunge';
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

export async function expungeExactly(client: ImapFlow, uids: number[]): Promise<void> {
  if (uids.length === 0) return;
  const set = uidSet(uids);
  if (expungeMethod(client) === 'uid-expunge') {
    if (!(await client.messageDelete(set, { uid: true }))) throw new TwinboxError('IMAP', `IMAP UID EXPUNGE ${set} failed`);
    return;
  }
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
