/**
 * Notifications for new mail in Chromium (issue 20), end to end without the
 * internet: the web app (never asking on load) turns notifications on with a
 * clear control, subscribes through its service worker and registers with its
 * device session; mail to the phone address makes the real server push to the
 * testkit's loopback push service (which checks the VAPID JWT and decrypts
 * the payload, RFC 8030/8291/8292); that very payload is handed to the service
 * worker's `push` handler through the DevTools protocol
 * (ServiceWorker.deliverPushMessage), which shows the notification
 * (registration.getNotifications()); clicking it opens the message. A burst is
 * one notification, "3 new messages"; "Only “New mail”" shows no sender or
 * subject; turning off and signing out unsubscribe and tell the server.
 *
 * Stand-ins, and why: a browser subscribes at its vendor's push service (for
 * Chromium, Google's), which needs the internet — so PushManager's subscribe
 * and getSubscription hand out a subscription of the testkit's push service
 * instead (an init script below); and a notification cannot be clicked
 * through the DevTools protocol, so the click is a NotificationEvent
 * dispatched in the service worker (Chromium does not let such an event open
 * or focus a window: the app, already open, is told where to go).
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser, BrowserContext, CDPSession, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT, TestPushService, TwinboxSystem, launchChromium, phoneContext } from '@twinbox/testkit';
import { axeViolations } from './axe.js';

/** Runs in every page before the app (the stand-in for the vendor's push service; see the header). */
const FAKE_PUSH_MANAGER = `(() => {
  const KEY = '__twinbox_test_push';
  const b64u = (buf) => btoa(String.fromCharCode(...new Uint8Array(buf))).replace(/\\+/g, '-').replace(/\\//g, '_').replace(/=+$/, '');
  const bytes = (s) => Uint8Array.from(atob(s.replace(/-/g, '+').replace(/_/g, '/')), (c) => c.charCodeAt(0)).buffer;
  const make = (s) => ({
    endpoint: s.endpoint,
    expirationTime: null,
    options: { userVisibleOnly: true, applicationServerKey: bytes(s.key) },
    getKey: (name) => bytes(s.keys[name]),
    toJSON: () => ({ endpoint: s.endpoint, expirationTime: null, keys: s.keys }),
    unsubscribe: async () => {
      localStorage.removeItem(KEY);
      localStorage.setItem('__twinbox_test_unsubscribed', String(Number(localStorage.getItem('__twinbox_test_unsubscribed') || 0) + 1));
      return true;
    },
  });
  PushManager.prototype.subscribe = async function (options) {
    const key = b64u(options.applicationServerKey);
    const s = { ...(await window.__twinboxPushSubscribe(key)), key };
    localStorage.setItem(KEY, JSON.stringify(s));
    return make(s);
  };
  PushManager.prototype.getSubscription = async function () {
    const s = localStorage.getItem(KEY);
    return s ? make(JSON.parse(s)) : null;
  };
  const ask = Notification.requestPermission.bind(Notification);
  Notification.requestPermission = (...args) => {
    localStorage.setItem('__twinbox_test_asked', String(Number(localStorage.getItem('__twinbox_test_asked') || 0) + 1));
    return ask(...args);
  };
})();`;

interface Shown {
  title: string;
  body: string;
  tag: string;
}

describe('notifications in Chromium', () => {
  let system: TwinboxSystem;
  let push: TestPushService;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  let cdp: CDPSession;
  let origin: string;
  let device: { device: number; token: string; signInUrl: string };
  const subscriptions: string[] = [];
  const registrations = new Map<string, string>();

  const rows = () => system.store.engine.all<{ show: string; bySession: number }>('SELECT show, session_hash IS NOT NULL AS bySession FROM push_subscriptions');
  const shown = () =>
    page.evaluate(async () => (await (await navigator.serviceWorker.ready).getNotifications()).map((n) => ({ title: n.title, body: n.body, tag: n.tag })) as Shown[]);
  const asked = () => page.evaluate(() => Number(localStorage.getItem('__twinbox_test_asked') ?? 0));

  /** What waits at the push service for this browser, handed to its service worker as the push service would. */
  const deliverWaiting = async () => {
    const id = subscriptions.at(-1)!;
    const waiting = push.deliver(id);
    expect(waiting.length).toBeGreaterThan(0);
    const registrationId = registrations.get(`${origin}/`);
    expect(registrationId).toBeDefined();
    for (const p of waiting) await cdp.send('ServiceWorker.deliverPushMessage', { origin: `${origin}/`, registrationId: registrationId!, data: p.payload.toString('utf8') });
    return waiting.map((p) => JSON.parse(p.payload.toString()) as Record<string, unknown>);
  };

  /** A click on the notification on screen (see the header). */
  const click = async () => {
    const [worker] = context.serviceWorkers();
    await worker!.evaluate(async () => {
      // The service worker's global (the test is compiled with the DOM's types, not the worker's).
      type Init = { notification: Notification };
      const scope = self as unknown as { registration: ServiceWorkerRegistration; dispatchEvent(e: Event): boolean; NotificationEvent: new (type: string, init: Init) => Event };
      const [notification] = await scope.registration.getNotifications();
      scope.dispatchEvent(new scope.NotificationEvent('notificationclick', { notification: notification! }));
    });
  };

  beforeAll(async () => {
    system = await TwinboxSystem.start({ window: 5 });
    for (let i = 1; i <= 3; i++) await system.desktop.deliver({ label: `D${i}`, date: new Date(Date.UTC(2026, 10, 20, 9, i)) });
    await system.sync();
    push = await TestPushService.start();
    await system.usePushService(push);
    browser = await launchChromium([join(system.serverDir, 'cert.pem')]);
    context = await phoneContext(browser);
    await context.addInitScript({ content: FAKE_PUSH_MANAGER });
    await context.exposeFunction('__twinboxPushSubscribe', (key: string) => {
      const s = push.subscribe(key);
      subscriptions.push(s.id);
      return { endpoint: s.endpoint, keys: s.keys };
    });
    page = await context.newPage();
    device = await system.addPhoneDevice('user1', 'Pixel');
    origin = new URL(device.signInUrl).origin;
  });

  afterAll(async () => {
    await browser?.close();
    await system?.stop();
    await push?.close();
  });

  it('never asks on first load: a clear control turns notifications on', async () => {
    await page.goto(device.signInUrl);
    await page.locator('.list .row').first().waitFor();
    const turnOn = page.getByRole('button', { name: 'Turn on notifications' });
    await turnOn.waitFor();
    expect(await page.evaluate(() => Notification.permission)).toBe('default');
    expect(await asked()).toBe(0);
    expect(await rows()).toEqual([]);
    expect(await axeViolations(page)).toEqual([]);
    cdp = await context.newCDPSession(page);
    cdp.on('ServiceWorker.workerRegistrationUpdated', (e) => {
      for (const r of e.registrations) if (!r.isDeleted) registrations.set(r.scopeURL, r.registrationId);
    });
    await cdp.send('ServiceWorker.enable');
  });

  it('turned on, it asks once, subscribes through the service worker and registers with the device session and the chosen content', async () => {
    await context.grantPermissions(['notifications'], { origin });
    await page.getByLabel('The sender and the subject').check();
    await page.getByRole('button', { name: 'Turn on notifications' }).click();
    await page.getByRole('button', { name: 'Turn off notifications' }).waitFor();
    expect(await asked()).toBe(1);
    expect(await rows()).toEqual([{ show: 'sender', bySession: 1 }]);
    const section = page.locator('.notify');
    await section.scrollIntoViewIfNeeded();
    mkdirSync(join(ROOT, 'docs', 'screenshots'), { recursive: true });
    await section.screenshot({ path: join(ROOT, 'docs', 'screenshots', 'notifications.png') });
  });

  it('new mail → the push service → the service worker shows it; a click opens that message', async () => {
    await system.phoneReceive({ label: 'P1', subject: 'Dinner at eight', from: 'Ann Smith <ann@example.test>' });
    await push.waitFor(subscriptions.at(-1)!, 1, 5000);
    const [payload] = await deliverWaiting();
    expect(payload).toMatchObject({ count: 1, from: 'Ann Smith', subject: '[P1] Dinner at eight' });
    await expect.poll(shown).toEqual([{ title: 'Ann Smith', body: '[P1] Dinner at eight', tag: 'twinbox-new-mail' }]);
    await click();
    await expect.poll(() => new URL(page.url()).hash).toBe(`#/message/${await system.phoneId('P1')}`);
    await expect.poll(() => page.locator('#message-subject').innerText()).toBe('[P1] Dinner at eight');
    await expect.poll(shown).toEqual([]);
  });

  it('a burst is one notification, "3 new messages"; its click opens the Inbox', async () => {
    await page.getByRole('button', { name: '← Back' }).click();
    // The click told the server the user had looked: the count starts again.
    await expect.poll(() => system.store.engine.get('SELECT pending FROM push_subscriptions')).toEqual({ pending: 0 });
    const before = push.pushesFor(subscriptions.at(-1)!).length;
    await Promise.all([1, 2, 3].map((i) => system.phoneReceive({ label: `B${i}`, subject: `Burst ${i}`, from: 'Bob <bob@example.test>' })));
    await push.waitFor(subscriptions.at(-1)!, before + 1, 5000);
    await expect.poll(() => push.waiting(subscriptions.at(-1)!).map((p) => JSON.parse(p.payload.toString()).count), { timeout: 5000 }).toEqual([3]);
    await deliverWaiting();
    await expect.poll(shown).toEqual([{ title: '3 new messages', body: expect.stringMatching(/^Newest: Bob — \[B\d\] Burst \d$/), tag: 'twinbox-new-mail' }]);
    await page.evaluate(() => (location.hash = '#/sent'));
    await click();
    await expect.poll(() => new URL(page.url()).hash).toBe('#/inbox');
  });

  it('"Only “New mail”": the notification says no more', async () => {
    await page.getByLabel('Only “New mail”').check();
    await expect.poll(() => rows()).toEqual([{ show: 'count', bySession: 1 }]);
    await system.phoneReceive({ label: 'Q1', subject: 'Private matter', from: 'Carol <carol@example.test>' });
    await expect.poll(() => push.waiting(subscriptions.at(-1)!).length, { timeout: 5000 }).toBe(1);
    const [payload] = await deliverWaiting();
    expect(Object.keys(payload!).sort()).toEqual(['account', 'count', 'message', 'type', 'v']);
    await expect.poll(shown).toEqual([{ title: 'New mail', body: '', tag: 'twinbox-new-mail' }]);
  });

  it('turning off unsubscribes the browser and tells the server; signing out does the same', async () => {
    await page.getByRole('button', { name: 'Turn off notifications' }).click();
    await page.getByRole('button', { name: 'Turn on notifications' }).waitFor();
    expect(await rows()).toEqual([]);
    expect(await page.evaluate(() => [localStorage.getItem('__twinbox_test_push'), localStorage.getItem('__twinbox_test_unsubscribed')])).toEqual([null, '1']);
    // On again (the permission is there: no question), then sign out.
    await page.getByRole('button', { name: 'Turn on notifications' }).click();
    await page.getByRole('button', { name: 'Turn off notifications' }).waitFor();
    expect(await rows()).toHaveLength(1);
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.locator('.signin').waitFor();
    expect(await rows()).toEqual([]);
    await expect.poll(() => page.evaluate(() => [localStorage.getItem('__twinbox_test_push'), localStorage.getItem('__twinbox_test_unsubscribed')])).toEqual([null, '2']);
  });
});
