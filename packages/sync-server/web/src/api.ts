/**
 * The app's link to the server: reads (GET, answered from the service
 * worker's cache when offline) and actions. An action is written to the
 * outbox queue (localStorage) with a key of its own *before* it is sent, and
 * sent with that key as Idempotency-Key: one that was taken offline, or whose
 * answer was lost, is sent again later and done once (the server answers a
 * repeated key with its first answer).
 */
import type { Folder, Message, SendRequest, Status, Summary } from './types.js';

export class SignedOut extends Error {}
export class Offline extends Error {}
export class ApiError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

async function call<T>(method: string, path: string, body?: unknown, key?: string): Promise<T> {
  let res: Response;
  try {
    res = await fetch(path, {
      method,
      credentials: 'same-origin',
      headers: {
        // Proof that the request comes from the app (the server refuses cookie-borne changes without it).
        'x-twinbox-request': '1',
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        ...(key ? { 'idempotency-key': key } : {}),
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
  } catch {
    throw new Offline('no connection to the server');
  }
  const json = (await res.json().catch(() => ({}))) as { error?: { code: string; message: string } };
  if (res.status === 401) throw new SignedOut(json.error?.message ?? 'signed out');
  if (!res.ok) throw new ApiError(json.error?.code ?? `HTTP_${res.status}`, json.error?.message ?? `the server answered ${res.status}`);
  return json as T;
}

export const api = {
  signIn: (code: string) => call<{ account: string }>('POST', '/api/v1/session', { code }),
  signOut: () => call('DELETE', '/api/v1/session'),
  status: () => call<Status>('GET', '/api/v1/status'),
  folder: (folder: Folder) => call<{ messages: Summary[] }>('GET', `/api/v1/folders/${folder}`).then((r) => r.messages),
  message: (id: number) => call<Message>('GET', `/api/v1/messages/${id}`),
  syncNow: () => call<{ path: 'live' | 'email' }>('POST', '/api/v1/sync-now', {}),
};

export type MessageOp = 'read' | 'unread' | 'flag' | 'unflag' | 'trash' | 'recover' | 'destroy' | 'retry';

export type QueuedAction =
  | { key: string; kind: 'op'; id: number; op: MessageOp; at: number }
  | { key: string; kind: 'send'; request: SendRequest; at: number };

const QUEUE = 'twinbox.queue';

export function queued(): QueuedAction[] {
  try {
    return JSON.parse(localStorage.getItem(QUEUE) ?? '[]') as QueuedAction[];
  } catch {
    return [];
  }
}

function save(queue: QueuedAction[]): void {
  localStorage.setItem(QUEUE, JSON.stringify(queue));
}

export function enqueue(action: { kind: 'op'; id: number; op: MessageOp } | { kind: 'send'; request: SendRequest }): QueuedAction {
  const item = { ...action, key: crypto.randomUUID(), at: Date.now() } as QueuedAction;
  save([...queued(), item]);
  return item;
}

/** Drop a queued action before it is sent (undo); false when it has been sent already. */
export function unqueue(key: string): boolean {
  const queue = queued();
  const rest = queue.filter((a) => a.key !== key);
  save(rest);
  return rest.length < queue.length;
}

export function clearQueue(): void {
  localStorage.removeItem(QUEUE);
}

let flushing: Promise<{ sent: number; failed: string[] }> | undefined;

/**
 * Send the queue in order. Stops at the first action that cannot reach the
 * server (it stays, to be sent when back online); an action the server refuses
 * is dropped and reported.
 */
export function flush(): Promise<{ sent: number; failed: string[] }> {
  flushing ??= (async () => {
    let sent = 0;
    const failed: string[] = [];
    try {
      for (;;) {
        const next = queued()[0];
        if (!next) break;
        try {
          if (next.kind === 'op') await call('POST', `/api/v1/messages/${next.id}/${next.op}`, undefined, next.key);
          else await call('POST', '/api/v1/send', next.request, next.key);
          sent++;
        } catch (err) {
          if (err instanceof Offline || err instanceof SignedOut) throw err;
          failed.push((err as Error).message);
        }
        unqueue(next.key);
      }
    } catch (err) {
      if (err instanceof SignedOut) throw err;
    } finally {
      flushing = undefined;
    }
    return { sent, failed };
  })();
  return flushing;
}

/** A list as it will be once the queued actions are done: what the user did offline shows at once. */
export function withQueued(folder: Folder, list: Summary[], queue: QueuedAction[] = queued()): Summary[] {
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
