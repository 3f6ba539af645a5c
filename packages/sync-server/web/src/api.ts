/**
 * The app's link to the server: reads (GET, answered from the service
 * worker's cache when offline) and actions (sent through the offline queue,
 * queue.ts).
 *
 * One account per browser at a time (issue 18): every request names the
 * account and device the page works as (`X-Twinbox-Account`,
 * `X-Twinbox-Device`). The server refuses a request whose session belongs to
 * another (409 WRONG_ACCOUNT: another tab switched the browser's session), so
 * nothing is ever done as, or read from, an account the page did not mean;
 * the service worker keeps each account's reads apart by the same name.
 */
import { ACCOUNT_HEADER, ACCOUNT_PARAM, DEVICE_HEADER } from './offline-names.js';
import type { Folder, Message, Status, Summary } from './types.js';

export class SignedOut extends Error {}
export class Offline extends Error {}
/** The browser's session belongs to another account or device than the page works as. */
export class WrongAccount extends Error {}
export class ApiError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

/** Who a browser's session is: the account and the device (a phone, a browser) of it. */
export interface Identity {
  account: string;
  device: number;
}

export const sameIdentity = (a: Identity | undefined, b: Identity | undefined): boolean => a?.account === b?.account && a?.device === b?.device;

let current: Identity | undefined;

/** The account and device this page works as, named in every request from now on (undefined: none yet). */
export function actAs(identity: Identity | undefined): void {
  current = identity;
}

export function actingAs(): Identity | undefined {
  return current;
}

/** A request to the phone API, naming `as` (by default the identity the page works as; null: none). */
export async function call<T>(method: string, path: string, body?: unknown, key?: string, as: Identity | null = current ?? null): Promise<T> {
  let res: Response;
  try {
    res = await fetch(path, {
      method,
      credentials: 'same-origin',
      headers: {
        // Proof that the request comes from the app (the server refuses cookie-borne changes without it).
        'x-twinbox-request': '1',
        ...(as ? { [ACCOUNT_HEADER]: as.account, [DEVICE_HEADER]: String(as.device) } : {}),
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
  if (json.error?.code === 'WRONG_ACCOUNT') throw new WrongAccount(json.error.message);
  if (!res.ok) throw new ApiError(json.error?.code ?? `HTTP_${res.status}`, json.error?.message ?? `the server answered ${res.status}`);
  return json as T;
}

export const api = {
  /** A sign-in link's code → this browser's session (replacing the one it had). */
  signIn: (code: string) => call<{ account: string; device: { id: number; name: string } }>('POST', '/api/v1/session', { code }, undefined, null),
  signOut: () => call('DELETE', '/api/v1/session'),
  status: () => call<Status>('GET', '/api/v1/status'),
  folder: (folder: Folder) => call<{ messages: Summary[] }>('GET', `/api/v1/folders/${folder}`).then((r) => r.messages),
  message: (id: number) => call<Message>('GET', `/api/v1/messages/${id}`),
  syncNow: () => call<{ path: 'live' | 'email' }>('POST', '/api/v1/sync-now', {}),
};

/** The message frame's address: it names the account too, so that the service worker keeps it with that account's mail. */
export function viewUrl(id: number, images: boolean): string {
  const query = new URLSearchParams(current ? { [ACCOUNT_PARAM]: current.account } : {});
  if (images) query.set('images', '1');
  const search = query.toString();
  return `/api/v1/messages/${id}/view${search ? `?${search}` : ''}`;
}
