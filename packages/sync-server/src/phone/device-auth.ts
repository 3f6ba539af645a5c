/**
 * Who is asking: a device, by its API token (`Authorization: Bearer tbd_…`,
 * for programs) or by the web app's session cookie (issue 12).
 *
 * The cookie is `__Host-twinbox` — HttpOnly (page scripts, and so any script a
 * mail might smuggle in, cannot read it), Secure, SameSite=Strict (no other
 * site's page sends it), Path=/ and no Domain (the __Host- prefix makes the
 * browser enforce both). A request that changes something with the cookie must
 * also carry `X-Twinbox-Request: 1`, which no form or link can add and which a
 * cross-origin script could only send after a CORS preflight this server never
 * grants: a second fence against cross-site request forgery.
 *
 * One account per browser at a time (issue 18): the web app names the account
 * and device it believes it is signed in as (`X-Twinbox-Account`,
 * `X-Twinbox-Device`); a request whose session belongs to another is refused
 * (WRONG_ACCOUNT), so an action queued offline by one account can never be
 * done as another — not even when another tab switched the browser's session
 * meanwhile — and a read is never cached under the wrong account.
 */
import type { IncomingMessage } from 'node:http';
import type { Account, Device, ServerStore } from '../store/index.js';

export const SESSION_COOKIE = '__Host-twinbox';
/** Browsers cap a cookie's life at 400 days; the session itself lasts until the device is revoked or signs out. */
const SESSION_MAX_AGE_S = 400 * 24 * 60 * 60;

export interface Caller {
  account: Account;
  device: Device;
  via: 'token' | 'session';
  /** The session secret, for signing out. */
  session?: string;
}

export function cookieOf(req: IncomingMessage, name: string): string | undefined {
  for (const part of (req.headers.cookie ?? '').split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}

export function sessionCookie(session: string): string {
  return `${SESSION_COOKIE}=${session}; Path=/; Secure; HttpOnly; SameSite=Strict; Max-Age=${SESSION_MAX_AGE_S}`;
}

export const CLEARED_SESSION_COOKIE = `${SESSION_COOKIE}=; Path=/; Secure; HttpOnly; SameSite=Strict; Max-Age=0`;

/** The device behind a request, or undefined. */
export async function callerOf(store: ServerStore, req: IncomingMessage): Promise<Caller | undefined> {
  const bearer = /^Bearer\s+(\S+)$/i.exec(req.headers.authorization ?? '');
  if (bearer) {
    const device = await store.devices.authenticate(bearer[1]!);
    const account = device ? await store.accounts.get(device.accountId) : undefined;
    return device && account ? { account, device, via: 'token' } : undefined;
  }
  const session = cookieOf(req, SESSION_COOKIE);
  if (!session) return undefined;
  const device = await store.devices.authenticateSession(session);
  const account = device ? await store.accounts.get(device.accountId) : undefined;
  return device && account ? { account, device, via: 'session', session } : undefined;
}

/** A cookie-borne request that changes something must say it comes from the app (see above). */
export function forgeryRisk(caller: Caller, req: IncomingMessage): boolean {
  return caller.via === 'session' && req.method !== 'GET' && req.method !== 'HEAD' && req.headers['x-twinbox-request'] !== '1';
}

/** Why a request made for one account or device cannot run with this caller's credentials; undefined when it can. */
export function wrongAccount(caller: Caller, req: IncomingMessage): string | undefined {
  const account = req.headers['x-twinbox-account'];
  const device = req.headers['x-twinbox-device'];
  if (typeof account === 'string' && account !== caller.account.id) return `this browser is signed in to account ${caller.account.id}, not ${account}`;
  if (typeof device === 'string' && device !== String(caller.device.id)) return `this browser is signed in as device ${caller.device.id}, not ${device}`;
  return undefined;
}
