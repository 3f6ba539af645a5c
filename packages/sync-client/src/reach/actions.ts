/**
 * Changes the phone makes to a desktop message beyond its window (JMAP
 * Email/set, RFC 8621 §4.6): flags, and a move to another folder (trash is a
 * move to the Trash folder the server names). A move uses MOVE (RFC 6851)
 * where offered; else COPY and the exact expunge of this one UID (expunge.ts:
 * never a plain EXPUNGE that would take what the user only marked deleted).
 * The moved message's new ref comes from COPYUID (RFC 4315) where the server
 * gives one; else it is null (the phone finds it again by a search).
 */
import { type FlagsParams, type MessageRef, type MoveParams } from '@twinbox/protocol';
import { expungeExactly } from '../imap/expunge.js';
import { REFUSED } from '../imap/fallbacks.js';
import { openFolder, openRef } from './folders.js';
import type { LaneContext } from './lane.js';
import { RequestFailure } from './failure.js';

async function mustExist(lane: LaneContext, uid: number): Promise<void> {
  const m = await lane.client.fetchOne(String(uid), { uid: true }, { uid: true });
  if (!m || m.uid !== uid) throw new RequestFailure('NOT_FOUND', `message ${uid} is not in the folder any more`);
}

const IMAP_FLAG = { seen: '\\Seen', flagged: '\\Flagged' } as const;

export async function setFlags(lane: LaneContext, params: FlagsParams): Promise<Record<string, never>> {
  const { client } = lane;
  await openRef(client, params.ref, true);
  await mustExist(lane, params.ref.uid);
  for (const [flag, value] of Object.entries(params.flags) as [keyof typeof IMAP_FLAG, boolean][]) {
    const ok = value
      ? await client.messageFlagsAdd(String(params.ref.uid), [IMAP_FLAG[flag]], { uid: true })
      : await client.messageFlagsRemove(String(params.ref.uid), [IMAP_FLAG[flag]], { uid: true });
    if (!ok) throw new RequestFailure('IMAP', `the desktop IMAP server refused to change ${IMAP_FLAG[flag]}`);
  }
  return {};
}

export async function move(lane: LaneContext, params: MoveParams): Promise<{ ref: MessageRef | null }> {
  const { client, fallbacks } = lane;
  if (params.to === params.ref.mailbox) return { ref: params.ref };
  // The destination must be there (and selectable) before anything is copied.
  await openFolder(client, params.to, false);
  await openRef(client, params.ref, true);
  await mustExist(lane, params.ref.uid);
  const what = `MOVE to ${JSON.stringify(params.to.slice(0, 200))}`;
  // MOVE where offered; a server that advertises it and refuses it is remembered (fallbacks.ts, issue 18), and then…
  const moved = client.capabilities.has('MOVE') && !fallbacks.refused('move') ? await fallbacks.attempt('move', what, () => client.messageMove(String(params.ref.uid), params.to, { uid: true })) : REFUSED;
  let result = moved;
  if (result === REFUSED) {
    // …COPY, then an expunge of exactly that message (never a plain EXPUNGE: expunge.ts).
    const copied = await client.messageCopy(String(params.ref.uid), params.to, { uid: true });
    if (!copied) throw new RequestFailure('IMAP', `the desktop IMAP server refused to copy the message to ${JSON.stringify(params.to.slice(0, 200))}`);
    await expungeExactly(client, fallbacks, [params.ref.uid]);
    result = copied;
  }
  const uid = result.uidMap?.get(params.ref.uid);
  return { ref: uid !== undefined && result.uidValidity !== undefined ? { mailbox: params.to, uidValidity: String(result.uidValidity), uid } : null };
}
