/**
 * What the user changed on the phone since both sides last agreed, read from
 * the pending action list (docs/spec.md §6). At an initial sync the agent has no
 * agreed state to merge against, so without this the account's conflict
 * policy would decide, and a change the user made on the phone just before
 * the agent started over (lost database, UIDVALIDITY reset) would silently be
 * undone (issue 9.6). Listed changes win over the policy:
 *
 * - a flag counts when its value now differs from the agreed value;
 * - the folder counts when the message is not where it was when both sides
 *   last agreed (the first pending move tells where that was: a trash started
 *   from the Inbox, a recover from the Trash), so trashed-then-recovered is
 *   no change.
 */
import { FLAG_ACTIONS, isFlagAction, type PhoneChange } from '@twinbox/protocol';
import type { ServerStore } from '../store/index.js';


export async function phoneChangesSinceAgreed(store: ServerStore, accountId: string): Promise<Map<number, PhoneChange[]>> {
  const changes = new Map<number, Set<PhoneChange>>();
  const agreedFolder = new Map<number, 'inbox' | 'trash'>();
  const add = (phoneId: number, change: PhoneChange) => changes.set(phoneId, (changes.get(phoneId) ?? new Set()).add(change));
  const pending = await store.actions.pending(accountId);
  const neverAgreed = new Set(pending.filter((row) => row.kind === 'insert').map((row) => row.phoneId));
  for (const row of pending) {
    if (neverAgreed.has(row.phoneId)) continue;
    const message = await store.messages.get(accountId, row.phoneId);
    if (!message || (message.folder !== 'inbox' && message.folder !== 'trash')) continue;
    if (isFlagAction(row.kind)) {
      const { flag } = FLAG_ACTIONS[row.kind];
      const differs = flag === 'seen' ? message.seen !== message.agreedSeen : message.flagged !== message.agreedFlagged;
      if (differs) add(row.phoneId, flag);
    } else if ((row.kind === 'trash' || row.kind === 'recover') && !agreedFolder.has(row.phoneId)) {
      agreedFolder.set(row.phoneId, row.kind === 'trash' ? 'inbox' : 'trash');
      if (message.folder !== agreedFolder.get(row.phoneId)) add(row.phoneId, 'folder');
    }
  }
  return new Map([...changes].map(([id, set]) => [id, [...set]]));
}
