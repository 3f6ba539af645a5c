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

async function messageIdOf(lane: LaneContext, uid: number): Promise<string | undefined> {
  const m = await lane.client.fetchOne(String(uid), { uid: true, headers: ['message-id'] }, { uid: true });
  const value = m ? /^message-id:\s*(<[^>\r\n]{1,900}>)/im.exec(m.headers?.toString('latin1') ?? '')?.[1] : undefined;
  return value;
}

/**
 * Without COPYUID (no UIDPLUS, RFC 4315) the server does not say where the message went: it is the one
 * with its Message-ID among what arrived in the folder since the move began, if exactly one is.
 */
async function foundAfterMove(lane: LaneContext, to: string, uidNext: number | undefined, messageId: string | undefined): Promise<MessageRef | null> {
  if (uidNext === undefined || messageId === undefined) return null;
  const { uidValidity } = await openFolder(lane.client, to, false);
  const uids = await lane.client.search({ uid: `${uidNext}:*`, header: { 'message-id': messageId } }, { uid: true });
  const found = (uids || []).filter((u) => u >= uidNext);
  return found.length === 1 ? { mailbox: to, uidValidity, uid: found[0]! } : null;
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
  // The source first (STATUS is not for the selected folder, RFC 3501 §6.3.10), then the destination must be
  // there before anything is copied, and says where it will put what comes.
  await openRef(client, params.ref, true);
  const status = await client.status(params.to, { uidNext: true }).catch(() => false as const);
  if (!status) throw new RequestFailure('NOT_FOUND', `no folder ${JSON.stringify(params.to.slice(0, 200))} on the desktop`);
  const uidNext = status.uidNext;
  await mustExist(lane, params.ref.uid);
  const messageId = await messageIdOf(lane, params.ref.uid);
  const what = `MOVE to ${JSON.stringify(params.to.slice(0, 200))}`;
  // MOVE where offered; refused (for this destination, which the phone chose: not remembered, fallbacks.ts), then…
  const moved = client.capabilities.has('MOVE') && !fallbacks.refused('move') ? await fallbacks.attempt('move', what, () => client.messageMove(String(params.ref.uid), params.to, { uid: true }), { remember: false }) : REFUSED;
  let result = moved;
  if (result === REFUSED) {
    // …COPY, then an expunge of exactly that message (never a plain EXPUNGE: expunge.ts).
    const copied = await client.messageCopy(String(params.ref.uid), params.to, { uid: true });
    if (!copied) throw new RequestFailure('IMAP', `the desktop IMAP server refused to copy the message to ${JSON.stringify(params.to.slice(0, 200))}`);
    await expungeExactly(client, fallbacks, [params.ref.uid]);
    result = copied;
  }
  const uid = result.uidMap?.get(params.ref.uid);
  if (uid !== undefined && result.uidValidity !== undefined) return { ref: { mailbox: params.to, uidValidity: String(result.uidValidity), uid } };
  return { ref: await foundAfterMove(lane, params.to, uidNext, messageId) };
}
