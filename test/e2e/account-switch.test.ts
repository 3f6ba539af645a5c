/**
 * One account per browser at a time (issue 18, finding 13): a sign-in link
 * opened in a browser signed in to another account once switched accounts
 * silently and sent the first account's offline queue as the second.
 *
 * Two accounts on one real server (with Dovecot and the agent behind user1),
 * one Chromium profile: user1 queues a flag and a message offline; a sign-in
 * link for user2 asks first, naming user1 ("Stay" keeps user1 and drops the
 * link); after the switch nothing of user1's queue is done to either mailbox
 * (checked through the phone API with each account's device token) and
 * user2 never sees user1's mail, online or offline; when user1 signs in here
 * again its queue goes out as user1, once, and a second tab follows the switch.
 * The question's screenshot goes to test-results/account-switch/.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PhoneMailbox } from '@twinbox/sync-server';
import { ROOT, TwinboxSystem, launchChromium, layoutOverflow, makeMessage, phoneContext } from '@twinbox/testkit';
import { axeViolations } from './axe.js';

const SHOTS = join(ROOT, 'test-results', 'account-switch');

type Device = { device: number; token: string; signInUrl: string };

/** The subjects of the list on screen, top to bottom. */
const listed = async (page: Page) => (await page.locator('.list .subject').allInnerTexts()).map((s) => s.replace(/^★\s*/, ''));

/** The actions a browser keeps queued, per owner (localStorage `twinbox.queue:ACCOUNT:DEVICE`). */
const queues = (page: Page) =>
  page.evaluate(() =>
    Object.fromEntries(
      Object.keys(localStorage)
        .filter((k) => k.startsWith('twinbox.queue'))
        .map((k) => [k, (JSON.parse(localStorage.getItem(k)!) as unknown[]).length]),
    ),
  );

/** A device name the question shows, long and unbroken: the question must fit the screen too. */
const ALICE_PHONE = `AlicePhone${'x'.repeat(300)}`;

const codeOf = (signInUrl: string) => new URL(signInUrl).hash.slice('#signin='.length);

describe('one account per browser at a time', () => {
  let system: TwinboxSystem;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  let alice: Device;
  let bob: Device;

  /** An account's mailbox as the phone API answers it, to its own device token. */
  async function mailbox(device: Device) {
    const folder = async (name: string) => (await system.api('GET', `/api/v1/folders/${name}`, device.token)).json.messages as { id: number; subject: string; flagged: boolean }[];
    const [inbox, outbox, sent] = [await folder('inbox'), await folder('outbox'), await folder('sent')];
    return {
      inbox: inbox.map((m) => `${m.subject}${m.flagged ? ' (flagged)' : ''}`),
      outbox: outbox.map((m) => m.subject),
      sent: sent.map((m) => m.subject),
    };
  }

  beforeAll(async () => {
    system = await TwinboxSystem.start({ window: 5 });
    await system.desktop.deliver({ label: 'A1', subject: 'For user1 only', date: new Date(Date.UTC(2026, 10, 20, 9, 1)) });
    await system.desktop.deliver({ label: 'A2', subject: 'Also for user1', date: new Date(Date.UTC(2026, 10, 20, 9, 2)) });
    await system.sync();
    await system.addAccount('user2', 5);
    await new PhoneMailbox(system.store, 'user2').deliver({ raw: makeMessage({ label: 'B1', subject: 'For user2 only' }), date: Date.UTC(2026, 10, 20, 10, 0) });
    alice = await system.addPhoneDevice('user1', ALICE_PHONE);
    bob = await system.addPhoneDevice('user2', 'Bob phone');
    browser = await launchChromium([join(system.serverDir, 'cert.pem')]);
    context = await phoneContext(browser);
    page = await context.newPage();
  });

  afterAll(async () => {
    await browser?.close();
    await system?.stop();
  });

  it("keeps what user1 does offline in user1's own queue", async () => {
    await page.goto(alice.signInUrl);
    await page.locator('.list .row').first().waitFor();
    // Once the service worker controls the page, it keeps user1's lists and a message for offline reading.
    await page.evaluate(() => navigator.serviceWorker.ready);
    await page.reload();
    await page.locator('.row-link', { hasText: 'For user1 only' }).click();
    await page.locator('#message-subject').waitFor();
    await page.getByRole('button', { name: '← Back' }).click();
    await page.locator('.list .row').first().waitFor();

    await context.setOffline(true);
    await page.locator('.row-link', { hasText: 'For user1 only' }).click();
    await page.getByRole('button', { name: 'Flag', exact: true }).click();
    await page.getByRole('button', { name: '← Back' }).click();
    await page.getByRole('link', { name: 'Compose' }).click();
    await page.getByLabel('To', { exact: true }).fill('friend@example.test');
    await page.getByLabel('Subject', { exact: true }).fill('Queued by user1');
    await page.getByRole('button', { name: 'Send' }).click();
    // Three: the saved copy of the message was unread when it was saved, so opening it again offline marks it read again.
    await expect.poll(() => page.locator('.banner').innerText()).toMatch(/Offline.*3 actions will be sent/);
    expect(await queues(page)).toEqual({ [`twinbox.queue:user1:${alice.device}`]: 3 });
    expect((await mailbox(alice)).inbox).toContain('[A1] For user1 only');
  });

  it('asks before a sign-in link replaces the session, naming the account; "Stay" keeps it and drops the link', async () => {
    // The link opened in a new tab, still offline (the service worker serves the app and user1's saved status).
    const tab = await context.newPage();
    await tab.goto(bob.signInUrl);
    const question = tab.locator('main.switch');
    await question.getByRole('heading', { name: 'Switch account?' }).waitFor();
    expect(await question.innerText()).toContain(`signed in to user1 (user1@phone.invalid, as “${ALICE_PHONE}”)`);
    expect(await question.innerText()).toContain('3 actions you took offline as user1 have not been sent yet');
    expect(new URL(tab.url()).hash).toBe('#/inbox');
    mkdirSync(SHOTS, { recursive: true });
    await tab.screenshot({ path: join(SHOTS, 'question.png') });
    const layout = await layoutOverflow(tab);
    expect(layout.beyond).toEqual([]);
    expect(layout.scrollWidth).toBeLessThanOrEqual(360);
    expect(await axeViolations(tab)).toEqual([]);
    await tab.getByRole('button', { name: 'Stay signed in as user1' }).click();
    await expect.poll(() => listed(tab)).toEqual(['[A2] Also for user1', '[A1] For user1 only']);
    expect(new URL(tab.url()).hash).toBe('#/inbox');
    expect(await queues(tab)).toEqual({ [`twinbox.queue:user1:${alice.device}`]: 3 });
    await tab.close();
  });

  it("switching keeps user1's queue aside: nothing of it is done as user2, and user2 never sees user1's mail", async () => {
    // The same link (a link works once: "Stay" did not use it), now opened while the app runs.
    const user2Actions = (await system.store.actions.pending('user2')).length;
    await page.evaluate((code) => (location.hash = `#signin=${code}`), codeOf(bob.signInUrl));
    await page.locator('main.switch').waitFor();
    // Back online with the question open: nothing is sent while it is.
    await context.setOffline(false);
    await page.getByRole('button', { name: 'Switch account' }).click();
    await expect.poll(() => listed(page), { timeout: 10_000 }).toEqual(['[B1] For user2 only']);
    expect(await page.locator('.foot').innerText()).toContain('user2@phone.invalid');

    // Past the app's retry interval (5 s): still nothing of user1's queue done, to either mailbox.
    await page.waitForTimeout(6000);
    expect(await mailbox(bob)).toEqual({ inbox: ['[B1] For user2 only'], outbox: [], sent: [] });
    expect(await mailbox(alice)).toEqual({ inbox: ['[A2] Also for user1', '[A1] For user1 only'], outbox: [], sent: [] });
    expect(await system.store.actions.pending('user2')).toHaveLength(user2Actions);
    expect(system.relay.received).toEqual([]);
    // user1's queue is kept aside, whole; user1's offline copy is gone from this browser.
    expect(await queues(page)).toEqual({ [`twinbox.queue:user1:${alice.device}`]: 3 });
    expect(await page.evaluate(async () => (await caches.keys()).filter((k) => k.startsWith('twinbox-data')))).toEqual(['twinbox-data:user2']);

    // The server's fence: a request naming user1 is refused with user2's session, even for user2's own message.
    const b1 = (await system.api('GET', '/api/v1/folders/inbox', bob.token)).json.messages[0].id as number;
    const refused = await page.evaluate(
      async ({ id, device }) => {
        const res = await fetch(`/api/v1/messages/${id}/flag`, { method: 'POST', headers: { 'x-twinbox-request': '1', 'x-twinbox-account': 'user1', 'x-twinbox-device': String(device) } });
        return { status: res.status, body: (await res.json()) as { error: { code: string } } };
      },
      { id: b1, device: alice.device },
    );
    expect(refused).toMatchObject({ status: 409, body: { error: { code: 'WRONG_ACCOUNT' } } });
    expect((await mailbox(bob)).inbox).toEqual(['[B1] For user2 only']);
  });

  it("user2 offline reads only user2's saved mail", async () => {
    await page.evaluate(() => navigator.serviceWorker.ready);
    await page.reload();
    await page.locator('.list .row').first().waitFor();
    await context.setOffline(true);
    await page.reload();
    await page.locator('.list .row').first().waitFor();
    expect(await listed(page)).toEqual(['[B1] For user2 only']);
    await page.getByRole('navigation', { name: 'Folders' }).getByRole('link', { name: 'Trash', exact: true }).click();
    await page.getByRole('navigation', { name: 'Folders' }).getByRole('link', { name: 'Inbox', exact: true }).click();
    expect(await listed(page)).toEqual(['[B1] For user2 only']);
    await context.setOffline(false);
  });

  it("sends user1's queue as user1, once, when user1 signs in here again; another tab follows the switch", async () => {
    const user2Actions = (await system.store.actions.pending('user2')).length;
    const other = await context.newPage();
    await other.goto(new URL(bob.signInUrl).origin + '/#/inbox');
    await expect.poll(() => listed(other)).toEqual(['[B1] For user2 only']);

    const link = await system.serverCli(['device', 'link', '--id', 'user1', '--device', String(alice.device), '--json']);
    expect(link.code).toBe(0);
    await page.goto((JSON.parse(link.stdout) as { signInUrl: string }).signInUrl);
    const question = page.locator('main.switch');
    await question.getByRole('heading', { name: 'Switch account?' }).waitFor();
    expect(await question.innerText()).toContain('signed in to user2');
    await page.getByRole('button', { name: 'Switch account' }).click();

    await expect.poll(() => queues(page), { timeout: 15_000 }).toEqual({});
    expect(await mailbox(alice)).toEqual({ inbox: ['[A2] Also for user1', '[A1] For user1 only (flagged)'], outbox: ['Queued by user1'], sent: [] });
    expect(await mailbox(bob)).toEqual({ inbox: ['[B1] For user2 only'], outbox: [], sent: [] });
    expect(await system.store.actions.pending('user2')).toHaveLength(user2Actions);
    // The other tab started afresh as user1: user2's list is gone from it.
    await expect.poll(() => listed(other), { timeout: 10_000 }).toEqual(['[A2] Also for user1', '[A1] For user1 only']);
    await other.close();
  });
});
