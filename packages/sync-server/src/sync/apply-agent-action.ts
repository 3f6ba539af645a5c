/**
 * Applying one desktop change (an agent action) to the phone mailbox, one
 * handler per action kind. Handlers run inside the transaction that also
 * records the action's sequence number, so each action takes effect once.
 * A message the phone no longer has answers "gone" (docs/spec.md §6), never an error.
 */
import { FLAG_ACTIONS, type ActionResult, type AgentAction, type AgentActionKind, type FlagActionKind } from '@twinbox/protocol';
import type { Account, ServerStore } from '../store/index.js';

export interface ApplyResult {
  result: ActionResult;
  phoneId?: number;
}

interface Context {
  store: ServerStore;
  account: Account;
  body: Buffer | undefined;
}

type ActionOf<K extends AgentActionKind> = K extends 'insert' ? Extract<AgentAction, { kind: 'insert' }> : { kind: K; phoneId: number };
type Handler<K extends AgentActionKind> = (ctx: Context, action: ActionOf<K>) => Promise<ApplyResult>;

/** Desktop flag changes set the phone value and the agreed value together: both sides now agree. */
function setFlag<K extends FlagActionKind>(kind: K): Handler<K> {
  const { flag, value } = FLAG_ACTIONS[kind];
  return async ({ store, account }, action) => {
    const message = await store.messages.get(account.id, action.phoneId);
    if (!message || (message.folder !== 'inbox' && message.folder !== 'trash')) return { result: 'gone' };
    await store.messages.setFlag(account.id, message.id, flag, value, true);
    return { result: 'ok' };
  };
}

/**
 * Fault injection for the quarantine's tests (docs/quarantine.md), like the agent's TWINBOX_KILL_AT: with
 * TWINBOX_FAULT_STORE_SUBJECT set, the server fails to store a desktop message whose raw bytes contain it.
 */
function injectedFault(body: Buffer | undefined): void {
  const marker = process.env.TWINBOX_FAULT_STORE_SUBJECT;
  if (marker && body?.includes(marker)) throw new Error(`injected fault: cannot store a message containing ${marker}`);
}

const HANDLERS: { [K in AgentActionKind]: Handler<K> } = {
  insert: async ({ store, account, body }, action) => {
    injectedFault(body);
    const phoneId = await store.messages.insert(account.id, {
      folder: 'inbox',
      raw: body!,
      date: action.date,
      seen: action.seen,
      flagged: action.flagged,
      tiebreak: action.tiebreak,
      ...(action.standInFor ? { standInFor: action.standInFor } : {}),
      ...(action.previewOf ? { previewOf: action.previewOf } : {}),
    });
    return { result: 'ok', phoneId };
  },
  markRead: setFlag('markRead'),
  markUnread: setFlag('markUnread'),
  flag: setFlag('flag'),
  unflag: setFlag('unflag'),
  trash: async ({ store, account }, action) => {
    const message = await store.messages.get(account.id, action.phoneId);
    if (!message || (message.folder !== 'inbox' && message.folder !== 'trash')) return { result: 'gone' };
    await store.messages.move(account.id, message.id, 'trash');
    return { result: 'ok' };
  },
  recover: async ({ store, account }, action) => {
    const message = await store.messages.get(account.id, action.phoneId);
    if (!message || (message.folder !== 'inbox' && message.folder !== 'trash')) return { result: 'gone' };
    await store.messages.move(account.id, message.id, 'inbox');
    return { result: 'ok' };
  },
  destroy: async ({ store, account }, action) => {
    const message = await store.messages.get(account.id, action.phoneId);
    // Destroy beats everything (docs/spec.md §6): what the phone still had queued about it is dropped.
    await store.actions.deleteForMessage(account.id, action.phoneId);
    if (!message) return { result: 'gone' };
    await store.messages.delete(account.id, message.id);
    return { result: 'ok' };
  },
  unmap: async ({ store, account }, action) => {
    // Normalization (docs/spec.md §4.5): the message leaves the phone window; the desktop keeps it.
    const message = await store.messages.get(account.id, action.phoneId);
    if (!message || message.folder !== 'inbox') return { result: 'gone' };
    await store.actions.deleteForMessage(account.id, message.id);
    await store.messages.delete(account.id, message.id);
    return { result: 'ok' };
  },
};

export async function applyAgentAction(store: ServerStore, account: Account, action: AgentAction, body: Buffer | undefined): Promise<ApplyResult> {
  const handler = HANDLERS[action.kind] as Handler<AgentActionKind>;
  return handler({ store, account, body }, action);
}
