/**
 * The phone web app end to end (issue 12): Debian's Chromium, driven by
 * playwright-core, against the real server, agent and Dovecot. A phone-sized
 * page signs in with a link, reads the window in the desktop's order, acts on
 * messages and finds the desktop changed after a sync, sends through the
 * desktop, updates by itself, works offline (queued actions go out once), is
 * signed out when its device is revoked, stays small and passes axe-core.
 * It also takes the README's screenshots (docs/screenshots/).
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT, TwinboxSystem, launchChromium, makeMessage, phoneContext } from '@twinbox/testkit';
import { axeViolations } from './axe.js';

const SCREENSHOTS = join(ROOT, 'docs', 'screenshots');

/** The subjects of the list on screen, top to bottom. */
const listed = async (page: Page) => (await page.locator('.list .subject').allInnerTexts()).map((s) => s.replace(/^★\s*/, ''));

/** Wait until the app's queue of actions is empty (all sent and answered). */
const queueSent = (page: Page) => page.waitForFunction(() => Object.keys(localStorage).every((k) => !k.startsWith('twinbox.queue')));

describe('phone web app in Chromium', () => {
  let system: TwinboxSystem;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  let device: { device: number; token: string; signInUrl: string };

  beforeAll(async () => {
    system = await TwinboxSystem.start({ window: 5 });
    for (let i = 1; i <= 7; i++) {
      await system.desktop.deliver({ label: `D${i}`, subject: `Quarterly note ${i}`, date: new Date(Date.UTC(2026, 10, 20, 9, i)), seen: i === 3 });
    }
    await system.sync();
    browser = await launchChromium([join(system.serverDir, 'cert.pem')]);
    context = await phoneContext(browser);
    page = await context.newPage();
    device = await system.addPhoneDevice('user1', 'Pixel');
  });

  afterAll(async () => {
    await browser?.close();
    await system?.stop();
  });

  it('signs in with a one-time link into an HttpOnly, Secure, SameSite=Strict session the page cannot read', async () => {
    expect(device.signInUrl).toMatch(/^https:\/\/127\.0\.0\.1:\d+\/#signin=tbc_[\w-]{43}$/);
    await page.goto(device.signInUrl);
    await page.locator('.list .row').first().waitFor();
    expect(new URL(page.url()).hash).toBe('#/inbox');
    expect(await page.evaluate(() => document.cookie)).toBe('');
    const cookies = await context.cookies();
    expect(cookies).toHaveLength(1);
    expect(cookies[0]).toMatchObject({ name: '__Host-twinbox', httpOnly: true, secure: true, sameSite: 'Strict', path: '/' });

    // The link worked once: in another browser it is refused, with a way forward.
    const other = await phoneContext(browser);
    const stranger = await other.newPage();
    await stranger.goto(device.signInUrl);
    await expect.poll(() => stranger.locator('.signin .error').innerText()).toContain('used or has expired');
    expect(await other.cookies()).toHaveLength(0);
    await other.close();
  });

  it('shows the window in the desktop order, with unread markers, previews and the banner', async () => {
    expect(await system.desktop.labels('INBOX')).toEqual(['D7', 'D6', 'D5', 'D4', 'D3', 'D2', 'D1']);
    expect(await listed(page)).toEqual([7, 6, 5, 4, 3].map((i) => `[D${i}] Quarterly note ${i}`));
    expect(await page.locator('.row.unread').count()).toBe(4);
    expect(await page.locator('.list .preview').first().innerText()).toBe('Body of D7.');
    expect(await page.locator('.banner').innerText()).toMatch(/5 of 5 newest desktop messages|The 5 newest of 7/);
    expect(await page.locator('.banner').innerText()).toContain('Synced');
    // The inbox's render time from its data (reported in the closing note; never asserted: machines drift).
    const render = await page.evaluate(() => performance.getEntriesByName('render-inbox').map((e) => e.duration));
    expect(render.length).toBeGreaterThan(0);
    console.log(`web app: inbox of ${render.length ? 5 : 0} rendered ${render.map((d) => d.toFixed(1)).join(', ')} ms after its data`);
  });

  it('opens a message synced from the desktop, flags it, trashes another; after a sync the desktop has changed', async () => {
    await page.locator('.row-link', { hasText: 'Quarterly note 7' }).click();
    await page.locator('#message-subject').waitFor();
    expect(await page.locator('#message-subject').innerText()).toBe('[D7] Quarterly note 7');
    expect((await page.locator('.text-body').innerText()).trim()).toBe('Body of D7.');
    mkdirSync(SCREENSHOTS, { recursive: true });
    await page.screenshot({ path: join(SCREENSHOTS, 'message.png') });
    // Opening it marked it read; now flag it.
    await page.getByRole('button', { name: 'Flag', exact: true }).click();
    await page.getByRole('button', { name: 'Unflag' }).waitFor();
    await queueSent(page);
    await page.getByRole('button', { name: '← Back' }).click();
    await page.locator('.row-link', { hasText: 'Quarterly note 6' }).click();
    await page.getByRole('button', { name: 'Trash', exact: true }).click();
    await expect.poll(() => page.locator('.toast').innerText()).toContain('Moved to Trash');
    await queueSent(page);
    await expect.poll(() => listed(page)).toEqual([7, 5, 4, 3].map((i) => `[D${i}] Quarterly note ${i}`));

    expect((await system.store.actions.pending('user1')).map((a) => a.kind)).toEqual(['markRead', 'flag', 'markRead', 'trash']);
    await system.sync();
    const inbox = await system.desktop.list('INBOX');
    expect(inbox.find((m) => m.label === 'D7')).toMatchObject({ seen: true, flagged: true });
    expect(await system.desktop.labels('Trash')).toEqual(['D6']);

    // Trash has an Undo: the message comes back, and the desktop never loses it.
    await page.locator('.row-link', { hasText: 'Quarterly note 5' }).click();
    await page.getByRole('button', { name: 'Trash', exact: true }).click();
    await page.locator('.toast').getByRole('button', { name: 'Undo' }).click();
    await queueSent(page);
    // (The sync refilled the window of 5 with D2.)
    await expect.poll(() => listed(page)).toEqual([7, 5, 4, 3, 2].map((i) => `[D${i}] Quarterly note ${i}`));
    expect((await system.store.messages.get('user1', await system.phoneId('D5')))?.folder).toBe('inbox');
    await system.sync();
    expect(await system.desktop.labels('Trash')).toEqual(['D6']);
    expect((await system.desktop.labels('INBOX')).includes('D5')).toBe(true);
  });

  it('composes through the desktop: one copy reaches the SMTP sink and the desktop Sent folder', async () => {
    await page.getByRole('link', { name: 'Compose' }).click();
    await page.getByLabel('To', { exact: true }).fill('friend@example.test');
    await page.getByLabel('Subject', { exact: true }).fill('Lunch on Friday?');
    await page.getByLabel('Message', { exact: true }).fill('Shall we meet at noon?');
    await page.getByLabel('Attachments', { exact: true }).setInputFiles({ name: 'menu.txt', mimeType: 'text/plain', buffer: Buffer.from('soup of the day') });
    expect(await page.getByLabel(/Send through the desktop/).isChecked()).toBe(true);
    await page.getByRole('button', { name: 'Send' }).click();
    await expect.poll(() => listed(page)).toEqual(['Lunch on Friday?']);
    expect(await page.locator('.send-status').innerText()).toContain('Waiting for the desktop');
    await system.sync();
    expect(system.smtp.received).toHaveLength(1);
    expect(system.smtp.received[0]!.to).toEqual(['friend@example.test']);
    expect(system.smtp.received[0]!.raw.toString()).toContain('Subject: Lunch on Friday?');
    expect(system.smtp.received[0]!.raw.toString()).toContain('filename=menu.txt');
    expect(system.smtp.received[0]!.raw.toString()).toContain(Buffer.from('soup of the day').toString('base64'));
    expect((await system.desktop.list('Sent')).length).toBe(1);
    await page.getByRole('navigation', { name: 'Folders' }).getByRole('link', { name: 'Sent', exact: true }).click();
    await expect.poll(() => listed(page)).toEqual(['Lunch on Friday?']);
  });

  it('shows a desktop change without a reload (live event stream)', async () => {
    await page.getByRole('navigation', { name: 'Folders' }).getByRole('link', { name: 'Inbox', exact: true }).click();
    await page.locator('.list .row').first().waitFor();
    await page.evaluate(() => ((window as unknown as { marker: number }).marker = 42));
    await system.desktop.deliver({ label: 'D8', subject: 'Fresh from the desktop', date: new Date(Date.UTC(2026, 10, 20, 10, 0)) });
    await system.sync();
    await expect.poll(() => listed(page), { timeout: 10_000 }).toEqual(['[D8] Fresh from the desktop', ...[7, 5, 4, 3].map((i) => `[D${i}] Quarterly note ${i}`)].slice(0, 5));
    expect(await page.evaluate(() => (window as unknown as { marker?: number }).marker)).toBe(42);
    await page.screenshot({ path: join(SCREENSHOTS, 'inbox.png') });
  });

  it('reads the inbox offline, queues an action taken offline and sends it once when back online', async () => {
    // The service worker controls the page once it is active; reload so it has seen the lists and a message.
    await page.evaluate(() => navigator.serviceWorker.ready);
    await page.reload();
    await page.locator('.row-link', { hasText: 'Quarterly note 7' }).click();
    await page.locator('#message-subject').waitFor();
    await page.getByRole('button', { name: '← Back' }).click();
    await page.locator('.list .row').first().waitFor();

    await context.setOffline(true);
    await page.reload();
    await page.locator('.list .row').first().waitFor();
    expect((await listed(page))[0]).toBe('[D8] Fresh from the desktop');
    await page.locator('.row-link', { hasText: 'Quarterly note 7' }).click();
    await page.getByRole('button', { name: 'Unflag' }).click();
    await expect.poll(() => page.locator('.banner').innerText()).toMatch(/Offline.*1 action will be sent/);
    expect((await system.store.messages.get('user1', await system.phoneId('D7')))?.flagged).toBe(true);

    await context.setOffline(false);
    await queueSent(page);
    await expect.poll(async () => (await system.store.messages.get('user1', await system.phoneId('D7')))?.flagged).toBe(false);
    expect((await system.store.actions.pending('user1')).map((a) => a.kind)).toEqual(['unflag']);
  });

  it('loads in at most 100 KB compressed and has no serious accessibility violation', async () => {
    const fresh = await phoneContext(browser);
    const first = await fresh.newPage();
    const sizes: Promise<number>[] = [];
    first.on('requestfinished', (request) => sizes.push(request.sizes().then((s) => s.responseBodySize + s.responseHeadersSize)));
    await first.goto(`https://127.0.0.1:${system.port}/`);
    await first.locator('.signin').waitFor();
    await first.waitForLoadState('load');
    await first.evaluate(() => new Promise((resolve) => setTimeout(resolve, 500)));
    const transferred = (await Promise.all(sizes)).reduce((a, b) => a + b, 0);
    console.log(`web app: first load transferred ${(transferred / 1024).toFixed(1)} KB`);
    expect(transferred).toBeLessThanOrEqual(100 * 1024);
    expect(await axeViolations(first)).toEqual([]);
    await fresh.close();

    await page.getByRole('navigation', { name: 'Folders' }).getByRole('link', { name: 'Inbox', exact: true }).click();
    await page.locator('.list .row').first().waitFor();
    expect(await axeViolations(page)).toEqual([]);
    await page.locator('.row-link').first().click();
    await page.locator('#message-subject').waitFor();
    expect(await axeViolations(page)).toEqual([]);
    await page.getByRole('button', { name: 'Reply', exact: true }).click();
    await page.getByLabel('To', { exact: true }).waitFor();
    expect(await page.getByLabel('To', { exact: true }).inputValue()).toBe('sender@example.test');
    expect(await page.getByLabel('Subject', { exact: true }).inputValue()).toBe('Re: [D8] Fresh from the desktop');
    expect(await axeViolations(page)).toEqual([]);
    await page.getByRole('button', { name: 'Discard' }).click();
  });

  it('"Sync now" asks the running desktop agent and shows the outcome', async () => {
    await page.getByRole('navigation', { name: 'Folders' }).getByRole('link', { name: 'Inbox', exact: true }).click();
    const daemon = await system.startDaemon(['--no-desktop-push', '--no-startup-sync']); // else it may fetch D9 on its own, before the click
    try {
      await expect.poll(async () => (await system.api('GET', '/api/v1/status', device.token)).json.agentConnected, { timeout: 15_000 }).toBe(true);
      await expect.poll(() => page.locator('.banner').innerText(), { timeout: 15_000 }).toContain('desktop online');
      await system.desktop.deliver({ label: 'D9', subject: 'Pulled by sync now', date: new Date(Date.UTC(2026, 10, 20, 11, 0)) });
      await page.getByRole('button', { name: 'Sync now' }).click();
      await expect.poll(() => page.locator('.toast').innerText(), { timeout: 15_000 }).toMatch(/Sync complete: 1 new/);
      await expect.poll(() => listed(page)).toContain('[D9] Pulled by sync now');
    } finally {
      await daemon.stop();
    }
  });

  it('renders an inbox of 50 (the render time is reported, not asserted)', async () => {
    await system.addAccount('user2', 50);
    const { PhoneMailbox } = await import('@twinbox/sync-server');
    const mailbox = new PhoneMailbox(system.store, 'user2');
    for (let i = 1; i <= 50; i++) await mailbox.deliver({ raw: makeMessage({ label: `P${i}`, subject: `Message number ${i} with a subject of usual length` }), date: Date.UTC(2026, 10, 1) + i * 60_000 });
    const other = await phoneContext(browser);
    const phone = await other.newPage();
    await phone.goto((await system.addPhoneDevice('user2')).signInUrl);
    await expect.poll(() => phone.locator('.list .row').count()).toBe(50);
    const render = await phone.evaluate(() => new Promise<number[]>((resolve) => requestAnimationFrame(() => resolve(performance.getEntriesByName('render-inbox').map((e) => e.duration)))));
    expect(render.length).toBeGreaterThan(0);
    const sizes = JSON.parse(readFileSync(join(ROOT, 'packages/sync-server/dist/web/bundle-size.json'), 'utf8')) as { firstLoad: { gzip: number; br: number } };
    const figures = { inboxOf50RenderMs: Math.max(...render), firstLoadGzipBytes: sizes.firstLoad.gzip, firstLoadBrotliBytes: sizes.firstLoad.br };
    console.log(`web app: inbox of 50 rendered ${figures.inboxOf50RenderMs.toFixed(1)} ms after its data; first load ${sizes.firstLoad.gzip} B gzip`);
    mkdirSync(join(ROOT, 'bench-results'), { recursive: true });
    writeFileSync(join(ROOT, 'bench-results', 'web-app.json'), `${JSON.stringify(figures, null, 2)}\n`);
    await other.close();

    // The same mailbox on a desktop browser: the list takes the width, with no serious accessibility violation.
    const wide = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    const desk = await wide.newPage();
    await desk.goto((await system.addPhoneDevice('user2', 'laptop')).signInUrl);
    await expect.poll(() => desk.locator('.list .row').count()).toBe(50);
    const box = await desk.locator('.list').boundingBox();
    expect(box!.width).toBeGreaterThan(900);
    expect(await axeViolations(desk)).toEqual([]);
    await desk.screenshot({ path: join(SCREENSHOTS, 'desktop.png') });
    await wide.close();
  });

  it('signs the page out at once when its device is revoked', async () => {
    await page.getByRole('navigation', { name: 'Folders' }).getByRole('link', { name: 'Inbox', exact: true }).click();
    await page.locator('.list .row').first().waitFor();
    // The offline copy is this account's alone.
    expect(await page.evaluate(async () => (await caches.keys()).filter((k) => k.startsWith('twinbox-data')))).toEqual(['twinbox-data:user1']);
    const revoke = await system.serverCli(['device', 'revoke', '--id', 'user1', '--device', String(device.device)]);
    expect(revoke.code).toBe(0);
    await page.locator('.signin').waitFor({ timeout: 10_000 });
    expect((await system.api('GET', '/api/v1/status', device.token)).status).toBe(401);
    // The mail kept for offline reading is gone with the session.
    await expect.poll(() => page.evaluate(async () => (await caches.keys()).filter((k) => k.startsWith('twinbox-data')))).toEqual([]);
  });
});
