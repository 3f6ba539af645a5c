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
 */
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
