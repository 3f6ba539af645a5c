/**
 * What the user did, waiting to be sent (issue 12): an action is written to
 * the queue (localStorage) with a key of its own *before* it is sent, and sent
 * with that key as Idempotency-Key: one taken offline, or whose answer was
 * lost, is sent again later and done once (the server answers a repeated key
 * with its first answer).
 *
 * The queue belongs to the account and device that made it (issue 18): each
 * has its own (`twinbox.queue:ACCOUNT:DEVICE`), and each queued request names
 * its owner, so the server refuses it (WRONG_ACCOUNT) if the browser's session
 * is by then another's. When the browser switches to another account, the
 * first one's queue is kept aside, untouched, and sent — as that account — when
 * it signs in here again; the question before the switch says so (main.tsx).
 * Signing out (or a revoked device) drops that account's queue.
 */
import { ApiError, call, Offline, SignedOut, WrongAccount, type Identity } from './api.js';
import type { Folder, SendRequest, Summary } from './types.js';

export type MessageOp = 'read' | 'unread' | 'flag' | 'unflag' | 'trash' | 'recover' | 'destroy' | 'retry';

export type QueuedAction =
  | { key: string; kind: 'op'; id: number; op: MessageOp; at: number }
  | { key: string; kind: 'send'; request: SendRequest; at: number };

const PREFIX = 'twinbox.queue:';
/** Before issue 18 the queue had no owner. */
const LEGACY = 'twinbox.queue';

const keyOf = (owner: Identity) => `${PREFIX}${owner.account}:${owner.device}`;

function read(key: string): QueuedAction[] {
  try {
    const queue: unknown = JSON.parse(localStorage.getItem(key) ?? '[]');
    return Array.isArray(queue) ? (queue as QueuedAction[]) : [];
  } catch {
    return [];
  }
}

export function queued(owner: Identity | undefined): QueuedAction[] {
  return owner ? read(keyOf(owner)) : [];
}

function save(owner: Identity, queue: QueuedAction[]): void {
  if (queue.length === 0) localStorage.removeItem(keyOf(owner));
  else localStorage.setItem(keyOf(owner), JSON.stringify(queue));
}

export function enqueue(owner: Identity, action: { kind: 'op'; id: number; op: MessageOp } | { kind: 'send'; request: SendRequest }): QueuedAction {
  const item = { ...action, key: crypto.randomUUID(), at: Date.now() } as QueuedAction;
  save(owner, [...queued(owner), item]);
  return item;
}

/** Drop a queued action before it is sent (undo); false when it has been sent already. */
export function unqueue(owner: Identity, key: string): boolean {
  const queue = queued(owner);
  const rest = queue.filter((a) => a.key !== key);
  save(owner, rest);
  return rest.length < queue.length;
}

export function clearQueue(owner: Identity): void {
  localStorage.removeItem(keyOf(owner));
}

/** How many actions this browser keeps for the owner's account and device. */
export function waiting(owner: Identity): number {
  return queued(owner).length;
}

/**
 * The queue an earlier version kept without an owner goes to the first
 * identity the server confirms: that version sent it with the session it
 * found, which is this one unless the browser switched accounts in between.
 */
export function adoptUnownedQueue(owner: Identity): number {
  const unowned = read(LEGACY);
  localStorage.removeItem(LEGACY);
  if (unowned.length > 0) save(owner, [...queued(owner), ...unowned]);
  return unowned.length;
}

export interface Flushed {
  sent: number;
  /** Actions the server refused (dropped): their keys and why. */
  refused: { key: string; message: string }[];
}

let flushing: Promise<Flushed> | undefined;

/**
 * One tab at a time sends an owner's queue (the Web Locks API). localStorage
 * reaches other tabs with a lag, so a tab may still find an action another tab
 * has just sent, and send it again: with the same Idempotency-Key, the server
 * answers with the first answer and does it once. (A browser without Web Locks
 * sends from each tab; the keys keep that once too.)
 */
function oneTabAtATime<T>(name: string, work: () => Promise<T>): Promise<T> {
  return 'locks' in navigator ? (navigator.locks.request(name, work) as Promise<T>) : work();
}

/**
 * Send the owner's queue in order, each request naming the owner. Stops at the
 * first action that cannot reach the server (it stays, to be sent when back
 * online); an action the server refuses is dropped and reported. Signed out or
 * a session of another account (WRONG_ACCOUNT): stops, keeps the action and
 * throws, for the page to find out who the browser is now.
 */
export function flush(owner: Identity): Promise<Flushed> {
  flushing ??= oneTabAtATime(keyOf(owner), async () => {
    let sent = 0;
    const refused: Flushed['refused'] = [];
    try {
      for (;;) {
        const next = queued(owner)[0];
        if (!next) break;
        try {
          if (next.kind === 'op') await call('POST', `/api/v1/messages/${next.id}/${next.op}`, undefined, next.key, owner);
          else await call('POST', '/api/v1/send', next.request, next.key, owner);
          sent++;
        } catch (err) {
          if (!(err instanceof ApiError)) throw err;
          refused.push({ key: next.key, message: err.message });
        }
        unqueue(owner, next.key);
      }
    } catch (err) {
      if (err instanceof SignedOut || err instanceof WrongAccount) throw err;
      if (!(err instanceof Offline)) throw err;
    } finally {
      flushing = undefined;
    }
    return { sent, refused };
  });
  return flushing;
}

/** A list as it will be once the queued actions are done: what the user did offline shows at once. */
export function withQueued(folder: Folder, list: Summary[], queue: QueuedAction[]): Summary[] {
  let result = list;
  for (const action of queue) {
    if (action.kind !== 'op') continue;
    const { id, op } = action;
    if (op === 'trash' || op === 'destroy' || op === 'recover') {
      if (folder !== 'trash' || op !== 'trash') result = result.filter((m) => m.id !== id);
      continue;
    }
    const patch = op === 'read' ? { seen: true } : op === 'unread' ? { seen: false } : op === 'flag' ? { flagged: true } : op === 'unflag' ? { flagged: false } : {};
    result = result.map((m) => (m.id === id ? { ...m, ...patch } : m));
  }
  return result;
}
