/**
 * Which account this browser is signed in to, as the server last confirmed it
 * (issue 18: one account per browser at a time), and the offline copy of the
 * mail that goes with it.
 *
 * The session cookie is HttpOnly: the page cannot read whose it is. So the
 * page remembers the identity the server confirmed (localStorage, shared by
 * the browser's tabs) and names it in every request (api.ts); a tab that sees
 * another tab change it starts again as the new one (main.tsx).
 */
import type { Identity } from './api.js';
import { DATA_CACHE_PREFIX, dataCacheOf } from './offline-names.js';

export const IDENTITY_KEY = 'twinbox.identity';

export function parseIdentity(text: string | null): Identity | undefined {
  try {
    const value = JSON.parse(text ?? 'null') as Partial<Identity> | null;
    return typeof value?.account === 'string' && typeof value.device === 'number' ? { account: value.account, device: value.device } : undefined;
  } catch {
    return undefined;
  }
}

export function rememberedIdentity(): Identity | undefined {
  return parseIdentity(localStorage.getItem(IDENTITY_KEY));
}

export function remember(identity: Identity | undefined): void {
  if (identity) localStorage.setItem(IDENTITY_KEY, JSON.stringify(identity));
  else localStorage.removeItem(IDENTITY_KEY);
}

/**
 * The offline copy holds one account's mail: every other account's cache is
 * deleted (all of them for undefined: signed out). The service worker keeps
 * each account's reads in a cache of its own (sw.ts), so a read that was under
 * way during a switch can never land in the next account's copy.
 */
export async function keepOfflineCopyOf(account: string | undefined): Promise<void> {
  if (typeof caches === 'undefined') return;
  const keep = account === undefined ? undefined : dataCacheOf(account);
  const names = await caches.keys();
  // `twinbox-data` without an account: the copy of a version before issue 18.
  await Promise.all(names.filter((n) => (n.startsWith(DATA_CACHE_PREFIX) || n === 'twinbox-data') && n !== keep).map((n) => caches.delete(n)));
}
