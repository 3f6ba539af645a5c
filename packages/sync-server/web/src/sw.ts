/**
 * The service worker (issue 12): the app opens and the last state of the
 * mailbox reads without a network.
 *
 * - The app's files: network first (a new version is used at once), the cache
 *   when offline.
 * - Reads of the phone API (status, folders, messages and their views): network
 *   first, the last answer when offline. Attachments and the event stream are
 *   never cached.
 * - One account's mail is never another's (issue 18): a read names its account
 *   (the X-Twinbox-Account header, or `account=` in the frame's address) and is
 *   kept in, and answered from, that account's cache only; a read that names
 *   none is never cached.
 * - "signout" from the page: the cached mail is deleted.
 * - Web Push (issue 20): a push shows the new-mail notification — one per
 *   browser, a newer one replacing it (a burst is "3 new messages"); clicking
 *   it opens that message (or the Inbox) in an open window of the app, focused,
 *   or in a new one; clicking or dismissing it tells the server the user has seen it. A
 *   subscription the browser renews is registered again.
 */
import { NEW_MAIL_TAG, notificationText, parsePush } from './notification-text.js';
import { ACCOUNT_HEADER, ACCOUNT_PARAM, DATA_CACHE_PREFIX, dataCacheOf } from './offline-names.js';

declare const self: ServiceWorkerGlobalScope;
declare const BUILD: string;

const SHELL_CACHE = `twinbox-shell-${BUILD}`;
const SHELL = ['/', '/app.js', '/app.css', '/manifest.webmanifest', '/icons/icon-192.png', '/icons/icon.svg'];
const CACHED_READS = /^\/api\/v1\/(status|folders\/\w+|messages\/\d+(\/view)?)$/;

self.addEventListener('install', (event) => {
  event.waitUntil(
    caches
      .open(SHELL_CACHE)
      .then((cache) => cache.addAll(SHELL))
      .then(() => self.skipWaiting()),
  );
});

self.addEventListener('activate', (event) => {
  event.waitUntil(
    caches
      .keys()
      .then((keys) => Promise.all(keys.filter((k) => k.startsWith('twinbox-shell-') && k !== SHELL_CACHE).map((k) => caches.delete(k))))
      .then(() => self.clients.claim()),
  );
});

async function networkFirst(request: Request, cacheName: string, key: string = request.url): Promise<Response> {
  try {
    const response = await fetch(request);
    if (response.ok) {
      const cache = await caches.open(cacheName);
      await cache.put(key, response.clone());
    }
    return response;
  } catch (err) {
    const cached = await (await caches.open(cacheName)).match(key);
    if (cached) return cached;
    throw err;
  }
}

self.addEventListener('fetch', (event) => {
  const request = event.request;
  const url = new URL(request.url);
  if (request.method !== 'GET' || url.origin !== self.location.origin) return;
  if (request.mode === 'navigate') return event.respondWith(networkFirst(request, SHELL_CACHE, new URL('/', url).href));
  if (CACHED_READS.test(url.pathname)) {
    const account = request.headers.get(ACCOUNT_HEADER) ?? url.searchParams.get(ACCOUNT_PARAM);
    return account ? event.respondWith(networkFirst(request, dataCacheOf(account))) : undefined;
  }
  if (SHELL.includes(url.pathname)) return event.respondWith(networkFirst(request, SHELL_CACHE));
});

self.addEventListener('message', (event) => {
  if (event.data === 'signout') {
    event.waitUntil(
      caches.keys().then((keys) => Promise.all(keys.filter((k) => k.startsWith(DATA_CACHE_PREFIX) || k === 'twinbox-data').map((k) => caches.delete(k)))),
    );
  }
});

self.addEventListener('push', (event) => {
  let text: string | undefined;
  try {
    text = event.data?.text();
  } catch {
    text = undefined;
  }
  const push = parsePush(text);
  const shown = notificationText(push);
  // Every push shows a notification (userVisibleOnly): one that cannot be read still says "New mail".
  event.waitUntil(
    self.registration.showNotification(shown.title, {
      body: shown.body,
      tag: NEW_MAIL_TAG,
      renotify: true,
      icon: '/icons/icon-192.png',
      badge: '/icons/icon-192.png',
      data: { hash: shown.hash, account: push?.account ?? null },
    } as NotificationOptions),
  );
});

/** Open the app at `hash`: in a window of it that is open (told to go there, then focused), else a new one. */
async function openApp(hash: string): Promise<void> {
  const windows = await self.clients.matchAll({ type: 'window', includeUncontrolled: true });
  const open = windows.find((w) => new URL(w.url).origin === self.location.origin);
  if (!open) {
    await self.clients.openWindow(new URL(`/${hash}`, self.location.origin).href);
    return;
  }
  open.postMessage({ type: 'open', hash });
  await open.focus().catch(() => undefined);
}

/** Tell the server the user has seen the new mail: the next notification counts from zero. */
function seen(): Promise<unknown> {
  return fetch('/api/v1/push/seen', { method: 'POST', credentials: 'same-origin', headers: { 'x-twinbox-request': '1' } }).catch(() => undefined);
}

self.addEventListener('notificationclick', (event) => {
  event.notification.close();
  const hash = (event.notification.data as { hash?: string } | null)?.hash ?? '#/inbox';
  // Clicked: the user has seen it (the next notification counts from zero).
  event.waitUntil(Promise.all([openApp(/^#\/(inbox|message\/\d+)$/.test(hash) ? hash : '#/inbox'), seen()]));
});

self.addEventListener('notificationclose', (event) => {
  if (event.notification.tag === NEW_MAIL_TAG) event.waitUntil(seen());
});

/** The browser renewed the subscription (its push service asked it to): register the new one, keeping the user's choice. */
async function renew(): Promise<void> {
  const headers = { 'x-twinbox-request': '1', 'content-type': 'application/json' };
  const info = (await (await fetch('/api/v1/push', { credentials: 'same-origin' })).json()) as { publicKey?: string | null; show?: string | null };
  if (!info.publicKey) return;
  const key = Uint8Array.from(atob(info.publicKey.replace(/-/g, '+').replace(/_/g, '/')), (c) => c.charCodeAt(0));
  const subscription = await self.registration.pushManager.subscribe({ userVisibleOnly: true, applicationServerKey: key });
  await fetch('/api/v1/push/subscription', {
    method: 'POST',
    credentials: 'same-origin',
    headers,
    body: JSON.stringify({ subscription: subscription.toJSON(), show: info.show ?? 'count' }),
  });
}

self.addEventListener('pushsubscriptionchange', (event) => {
  (event as ExtendableEvent).waitUntil(renew().catch(() => undefined));
});
