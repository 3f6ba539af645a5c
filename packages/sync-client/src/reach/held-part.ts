/**
 * A part a window message's preview left out (protocol preview.ts; docs/reach.md
 * "Preview first"): the server names the phone message and the part's IMAP
 * section; the agent finds the desktop message through its own mapping (folder
 * and UID) and the folder's UIDVALIDITY from its last sync — the server knows
 * none of them — and streams the part as for any desktop message (message.ts).
 *
 * Only a message the agent mapped to the phone can be reached this way, so the
 * part served is always of the very message the preview was made from.
 */
import type { HeldPartParams } from '@twinbox/protocol';
import type { AgentStore } from '../store/agent-store.js';
import { RequestFailure } from './failure.js';
import { listMailboxes } from './folders.js';
import type { LaneContext } from './lane.js';
import { part, type PartSink } from './message.js';

/** What the lane reads of the agent's store. */
export type MappingLookup = Pick<AgentStore, 'mappingByPhoneId' | 'folderState'>;

export async function heldPart(lane: LaneContext, store: MappingLookup | undefined, params: HeldPartParams, sink: PartSink, signal: AbortSignal): Promise<void> {
  const mapping = store?.mappingByPhoneId(params.phoneId);
  if (!mapping) throw new RequestFailure('NOT_FOUND', `phone message ${params.phoneId} is not mapped to a desktop message`);
  const state = store?.folderState(mapping.folder);
  if (!state) throw new RequestFailure('NOT_FOUND', `the desktop ${mapping.folder} has not been synced yet`);
  const mailbox = mapping.folder === 'inbox' ? 'INBOX' : (await listMailboxes(lane, false)).find((m) => m.role === 'trash')?.id;
  if (!mailbox) throw new RequestFailure('NOT_FOUND', 'the desktop has no Trash folder');
  await part(lane, { ref: { mailbox, uidValidity: state.uidValidity, uid: mapping.uid }, partId: params.partId }, sink, signal);
}
