/**
 * Builds the list of phone changes to send after the swap request (patent
 * FIG. 10, block 1016), coalesced against the agreed state (docs/spec.md §6):
 *
 * - a flag action is sent only if the phone's current value differs from the
 *   value both sides agreed on (read-then-unread is no change), and at most
 *   once per message and flag;
 * - a trash or recover is sent only if the message is still in the folder it
 *   moved it to (trashed-then-recovered sends only the harmless recover);
 * - an action about a message the phone no longer has is dropped, except
 *   `destroy`, which must reach the desktop;
 * - an `insert` carries the message's current flags;
 * - a `deliver` goes only for a message still queued in the Outbox, a `sent`
 *   only for one still in Sent;
 * - an `unmap` (the phone let go of its copy) and an `expire` (retention asks
 *   the desktop to destroy its Trash copy, with what it was) always go: the
 *   phone no longer has the message.
 *
 * Dropped actions are deleted in the same transaction that decides to drop them.
 *
 * In an initial sync (after the lists are paired) only what the phone list
 * cannot carry goes: `deliver`, `sent`, `destroy` and `expire`, the last two
 * with what they destroyed (the agent has no mapping for it any more). The rest stays for
 * the session to settle when the initial sync completes (session.ts).
 */
import { FLAG_ACTIONS, flagActionFor, type ServerAction } from '@twinbox/protocol';
import type { PhoneMessage, ServerStore } from '../store/index.js';

export interface OutgoingAction {
  seq: number;
  action: ServerAction;
}


const SENT_IN_INITIAL = new Set(['deliver', 'sent', 'destroy', 'expire']);

export async function buildOutgoing(store: ServerStore, accountId: string, mode: 'initial' | 'update' = 'update'): Promise<OutgoingAction[]> {
  return store.transaction(async () => {
    const outgoing: OutgoingAction[] = [];
    // Flag values already promised to the desktop in this list, per message.
    const promised = new Map<string, boolean>();
    const message = (id: number): Promise<PhoneMessage | undefined> => store.messages.get(accountId, id);

    for (const row of await store.actions.pending(accountId)) {
      if (mode === 'initial' && !SENT_IN_INITIAL.has(row.kind)) continue;
      const current = await message(row.phoneId);
      const drop = () => store.actions.delete(accountId, row.seq);
      switch (row.kind) {
        case 'insert':
          if (!current || (current.folder !== 'inbox' && current.folder !== 'trash')) await drop();
          else {
            outgoing.push({ seq: row.seq, action: { kind: 'insert', phoneId: row.phoneId, date: current.date, seen: current.seen, flagged: current.flagged } });
            promised.set(`${row.phoneId}:seen`, current.seen);
            promised.set(`${row.phoneId}:flagged`, current.flagged);
          }
          break;
        case 'markRead':
        case 'markUnread':
        case 'flag':
        case 'unflag': {
          if (!current) {
            await drop();
            break;
          }
          const { flag } = FLAG_ACTIONS[row.kind];
          const value = flag === 'seen' ? current.seen : current.flagged;
          const key = `${row.phoneId}:${flag}`;
          const base = promised.get(key) ?? (flag === 'seen' ? current.agreedSeen : current.agreedFlagged);
          if (value === base) await drop();
          else {
            outgoing.push({ seq: row.seq, action: { kind: flagActionFor(flag, value), phoneId: row.phoneId } });
            promised.set(key, value);
          }
          break;
        }
        case 'trash':
        case 'recover':
          // Only a move that still holds is sent: one the phone took back (trashed, then recovered) or one the
          // desktop's own change has overtaken would move the desktop copy away from the phone's. (A move
          // that ends where the desktop already is arrives as a no-op; dropping it by counting moves would be
          // wrong after a crash that left the first of them applied on the desktop but unacknowledged.)
          if (!current || current.folder !== (row.kind === 'trash' ? 'trash' : 'inbox')) await drop();
          else outgoing.push({ seq: row.seq, action: { kind: row.kind, phoneId: row.phoneId } });
          break;
        case 'destroy':
          outgoing.push({ seq: row.seq, action: { kind: 'destroy', phoneId: row.phoneId, ...(mode === 'initial' && row.identity ? { identity: row.identity } : {}) } });
          break;
        case 'unmap':
          outgoing.push({ seq: row.seq, action: { kind: 'unmap', phoneId: row.phoneId } });
          break;
        case 'expire':
          if (row.identity) outgoing.push({ seq: row.seq, action: { kind: 'expire', phoneId: row.phoneId, identity: row.identity } });
          else await drop();
          break;
        case 'deliver':
          // Only what still waits in the Outbox (not sent directly, destroyed or already failed).
          if (current?.folder === 'outbox' && current.sendStatus === 'queued' && current.envelope) {
            outgoing.push({ seq: row.seq, action: { kind: 'deliver', phoneId: row.phoneId, envelope: current.envelope } });
          } else await drop();
          break;
        case 'sent':
          if (current?.folder === 'sent') outgoing.push({ seq: row.seq, action: { kind: 'sent', phoneId: row.phoneId, date: current.date } });
          else await drop();
          break;
      }
    }
    return outgoing;
  });
}
