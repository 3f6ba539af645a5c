/**
 * The desktop mailbox beyond the window in the phone web app (issue 21),
 * end to end: Debian's Chromium, driven by playwright-core, against the real
 * server, the running desktop agent and Dovecot. The phone holds a window of
 * 3; the desktop has 25 and more in its INBOX, and folders of its own. From the
 * phone: a search finds a message below the window and opens it (paging with
 * "More results", newest first, never joining the window), read, flagged and
 * replied to; a long letter opens with a notice and goes to Trash; a search
 * text full of IMAP syntax finds just what it says; an HTML mail shows only
 * through the sanitized view in the sandboxed frame; a desktop folder
 * is browsed and a message moved out of it; an attachment is downloaded from
 * the desktop when tapped; with the agent stopped, the views say the desktop
 * is offline, what the server cached (a message, its attachment) still opens,
 * and the window keeps working. Every new view passes axe-core and
 * fits 360 px with a hostile 2,000-character subject in the lists.
 */
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ImapFlow } from 'imapflow';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AgentDaemon, ROOT, TwinboxSystem, launchChromium, layoutOverflow, makeMessage, phoneContext } from '@twinbox/testkit';
import { axeViolations } from './axe.js';

const SHOTS = join(ROOT, 'test-results', 'reach-web');
const DAY = 86_400_000;
const START = Date.UTC(2026, 0, 1, 9, 0);
const LONG_SUBJECT = 'S'.repeat(2000);
const REPORT = Buffer.from('%PDF-1.4\nquarterly figures from the desktop\n'.repeat(200));

/** A message with a text body and one attachment (report.pdf), labelled like the testkit's. */
function withAttachment(label: string, subject: string, date: Date): Buffer {
  return Buffer.from(
    [
      'From: Carol <carol@example.test>',
      'To: user1@example.test',
      `Subject: [${label}] ${subject}`,
      `Date: ${date.toUTCString()}`,
      `Message-ID: <${label}.reach@twinbox.test>`,
      `X-Scenario-Label: ${label}`,
      'MIME-Version: 1.0',
      'Content-Type: multipart/mixed; boundary="b1"',
      '',
      '--b1',
      'Content-Type: text/plain; charset=utf-8',
      '',
      `Body of ${label}, with the report attached.`,
      '--b1',
      'Content-Type: application/pdf; name="report.pdf"',
      'Content-Disposition: attachment; filename="report.pdf"',
      'Content-Transfer-Encoding: base64',
      '',
      ...(REPORT.toString('base64').match(/.{1,76}/g) ?? []),
      '--b1--',
      '',
    ].join('\r\n'),
  );
}

/** An HTML mail whose script and handler must never run on the phone. */
function htmlMail(label: string, date: Date): Buffer {
  return Buffer.from(
    [
      'From: News <news@example.test>',
      'To: user1@example.test',
      `Subject: [${label}] Newsletter in HTML`,
      `Date: ${date.toUTCString()}`,
      `Message-ID: <${label}.reach@twinbox.test>`,
      `X-Scenario-Label: ${label}`,
      'MIME-Version: 1.0',
      'Content-Type: text/html; charset=utf-8',
      '',
      '<p id="hello">Hello from the newsletter</p><script>parent.document.title = "owned"</script><img src="x" onerror="parent.document.title = \'owned\'">',
      '',
    ].join('\r\n'),
  );
}

/** The desktop user's own mail client, for the folders the testkit's does not name. */
async function desktopImap(system: TwinboxSystem): Promise<ImapFlow> {
  const user = system.dovecot.users[0]!;
  const client = new ImapFlow({ host: system.dovecot.host, port: system.dovecot.imapPort, secure: false, doSTARTTLS: false, auth: { user: user.name, pass: user.password }, logger: false });
  client.on('error', () => undefined);
  await client.connect();
  return client;
}

/** The labels of a desktop folder's messages, in UID order. */
async function labelsIn(client: ImapFlow, folder: string): Promise<string[]> {
  const lock = await client.getMailboxLock(folder);
  try {
    const found = await client.fetchAll('1:*', { uid: true, headers: ['x-scenario-label'] });
    return found.map((m) => /x-scenario-label:\s*(\S+)/i.exec(m.headers?.toString('latin1') ?? '')?.[1] ?? '?');
  } catch {
    return [];
  } finally {
    lock.release();
  }
}

/** The subjects of the desktop list on screen, top to bottom (without the flag's star). */
const results = async (page: Page) => (await page.locator('.desktop-list .list .subject').allInnerTexts()).map((s) => s.replace(/^★\s*/, ''));
/** The hostile subject, as far as the desktop's summary carries it. */
const LONG_SHOWN = expect.stringMatching(/^\[P3\] S{200,}$/);
const windowList = (page: Page) => page.locator('main > .list .subject').allInnerTexts();
const nav = (page: Page, name: string) => page.getByRole('navigation', { name: 'Folders' }).getByRole('link', { name, exact: true });

/** Nothing reaches past the right edge of the 360 px screen, and axe finds no serious violation. */
async function fitsAndPasses(page: Page): Promise<void> {
  const layout = await layoutOverflow(page);
  expect(layout.viewport).toBe(360);
  expect(layout.scrollWidth).toBeLessThanOrEqual(layout.viewport);
  expect(layout.beyond).toEqual([]);
  expect(await axeViolations(page)).toEqual([]);
}

describe('the desktop mailbox beyond the window, in Chromium', () => {
  let system: TwinboxSystem;
  let imap: ImapFlow;
  let daemon: AgentDaemon;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  /** The address of the desktop message with report.pdf, once opened. */
  let reportMessage = '';
  /** The address of a desktop message never opened (so never cached). */
  let unopened = '';

  beforeAll(async () => {
    system = await TwinboxSystem.start({ window: 3 });
    // 25 in the desktop INBOX; the phone's window holds the newest 3. R5 is far below it.
    for (let i = 1; i <= 25; i++) {
      const subject = i === 5 ? 'Invoice from the glazier' : `Budget review ${i}`;
      await system.desktop.deliver({ label: `R${i}`, subject, date: new Date(START + i * DAY), seen: i !== 5 });
    }
    // A letter longer than the text the server shows of one part (1 MiB): its beginning, and a notice.
    await system.desktop.deliver({ label: 'L1', subject: 'A very long letter', date: new Date(START), size: 1_200_000, seen: true });
    // Below the window too: an HTML mail with a script, and a subject full of IMAP syntax.
    await system.desktop.appendRaw(htmlMail('H1', new Date(START + DAY / 2)), new Date(START + DAY / 2));
    await system.desktop.deliver({ label: 'Q1', subject: 'Plan "B" {5} (draft)', date: new Date(START + DAY / 3), seen: true });
    imap = await desktopImap(system);
    await imap.mailboxCreate('Projects');
    await imap.mailboxCreate('Archive');
    await imap.append('Projects', withAttachment('P1', 'Quarterly report', new Date(START + 2 * DAY)), [], new Date(START + 2 * DAY));
    await imap.append('Projects', makeMessage({ label: 'P2', subject: 'Move me to the archive', date: new Date(START + 3 * DAY) }), [], new Date(START + 3 * DAY));
    await imap.append('Projects', makeMessage({ label: 'P3', subject: LONG_SUBJECT, from: `"${'N'.repeat(2000)}" <${'s'.repeat(200)}@hostile.example>`, date: new Date(START + DAY) }), ['\\Seen'], new Date(START + DAY));
    await system.sync();
    daemon = await system.startDaemon();
    mkdirSync(SHOTS, { recursive: true });
    browser = await launchChromium([join(system.serverDir, 'cert.pem')]);
    context = await phoneContext(browser);
    page = await context.newPage();
    const device = await system.addPhoneDevice('user1', 'Pixel');
    await page.goto(device.signInUrl);
    await page.locator('main > .list .row').first().waitFor();
    // The agent's link is up (the desktop requests need it), and the page has seen it.
    await page.locator('.banner', { hasText: 'desktop online' }).waitFor({ timeout: 20_000 });
  });

  afterAll(async () => {
    await browser?.close();
    await imap?.logout().catch(() => undefined);
    await system?.stop();
  });

  it('searches the whole desktop mailbox, pages the results newest first, and opens one below the window', async () => {
    expect(await windowList(page)).toEqual([25, 24, 23].map((i) => `[R${i}] Budget review ${i}`));

    await nav(page, 'Search').click();
    await page.getByLabel('Search the desktop mailbox').fill('Budget review');
    await page.getByRole('button', { name: 'Search', exact: true }).click();
    // 24 match; the first page is 20, newest first, then "More results" brings the rest.
    const budget = [25, 24, 23, 22, 21, 20, 19, 18, 17, 16, 15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 4, 3, 2, 1].map((i) => `[R${i}] Budget review ${i}`);
    await expect.poll(() => results(page)).toEqual(budget.slice(0, 20));
    await fitsAndPasses(page);
    unopened = (await page.locator('.desktop-list .row-link', { hasText: 'Budget review 24' }).getAttribute('href'))!;
    await page.getByRole('button', { name: 'More results' }).click();
    await expect.poll(() => results(page)).toEqual(budget);
    // Focus went on to the first row of the new page.
    await expect.poll(() => page.evaluate(() => document.activeElement?.querySelector('.subject')?.textContent)).toBe('[R4] Budget review 4');
    await page.screenshot({ path: join(SHOTS, 'search.png') });
    await expect(page.getByRole('button', { name: 'More results' }).count()).resolves.toBe(0);

    await page.getByLabel('Search the desktop mailbox').fill('glazier');
    await page.getByRole('button', { name: 'Search', exact: true }).click();
    await expect.poll(() => results(page)).toEqual(['[R5] Invoice from the glazier']);
    expect(await page.locator('.desktop-list .row').first().getAttribute('class')).toContain('unread');
    await page.locator('.desktop-list .row-link').first().click();
    await page.locator('#message-subject').waitFor();
    expect(await page.locator('#message-subject').innerText()).toBe('[R5] Invoice from the glazier');
    expect((await page.locator('.text-body').innerText()).trim()).toBe('Body of R5.');
    await fitsAndPasses(page);
    await page.screenshot({ path: join(SHOTS, 'message.png') });

    // Opened is read, on the desktop; Flag is a desktop action too.
    await expect.poll(async () => (await system.desktop.list('INBOX')).find((m) => m.label === 'R5')?.seen).toBe(true);
    await page.getByRole('button', { name: 'Flag', exact: true }).click();
    await page.getByRole('button', { name: 'Unflag', exact: true }).waitFor();
    await expect.poll(async () => (await system.desktop.list('INBOX')).find((m) => m.label === 'R5')?.flagged).toBe(true);

    // Reply: the same compose as for a window message, to the sender, threaded.
    await page.getByRole('button', { name: 'Reply', exact: true }).click();
    await page.getByLabel('To', { exact: true }).waitFor();
    expect(await page.getByLabel('To', { exact: true }).inputValue()).toBe('sender@example.test');
    expect(await page.getByLabel('Subject', { exact: true }).inputValue()).toBe('Re: [R5] Invoice from the glazier');
    expect(await page.getByLabel('Message', { exact: true }).inputValue()).toContain('> Body of R5.');
    // Discard: back to the desktop message.
    await page.getByRole('button', { name: 'Discard' }).click();
    await expect.poll(() => page.locator('#message-subject').innerText()).toBe('[R5] Invoice from the glazier');

    // Back: the same results; the window never took the message in.
    await page.getByRole('button', { name: '← Back' }).click();
    await expect.poll(() => results(page)).toEqual(['[R5] Invoice from the glazier']);
    await nav(page, 'Inbox').click();
    await expect.poll(() => windowList(page)).toEqual([25, 24, 23].map((i) => `[R${i}] Budget review ${i}`));
    expect((await system.phoneLabels('inbox')).sort()).toEqual(['R23', 'R24', 'R25']);
  });

  it('opens a letter longer than the phone is shown of it: its beginning, and a notice', async () => {
    await nav(page, 'Search').click();
    await page.getByLabel('Search the desktop mailbox').fill('long letter');
    await page.getByRole('button', { name: 'Search', exact: true }).click();
    await expect.poll(() => results(page)).toEqual(['[L1] A very long letter']);
    await page.locator('.desktop-list .row-link').first().click();
    await page.locator('#message-subject').waitFor();
    expect(await page.locator('.truncated').innerText()).toContain('the phone shows its beginning');
    expect((await page.locator('.text-body').innerText()).length).toBeGreaterThan(1000);
    await fitsAndPasses(page);

    // Trash: a desktop action; back in the results, without it.
    await page.getByRole('button', { name: 'Trash', exact: true }).click();
    await expect.poll(() => page.locator('.toast').innerText()).toContain('Moved to Trash on the desktop');
    await expect.poll(() => page.locator('.desktop-list .empty').innerText()).toBe('Nothing on the desktop matches.');
    expect(await system.desktop.labels('Trash')).toEqual(['L1']);
  });

  it('finds what a search text full of IMAP syntax says, and shows an HTML message only through the sanitized, sandboxed view', async () => {
    await nav(page, 'Search').click();
    await page.getByLabel('Search the desktop mailbox').fill('"B" {5} (');
    await page.getByLabel('Look in').selectOption({ label: 'Subject' });
    await page.getByRole('button', { name: 'Search', exact: true }).click();
    await expect.poll(() => results(page)).toEqual(['[Q1] Plan "B" {5} (draft)']);
    expect(await system.desktop.labels('INBOX')).toHaveLength(27);

    await page.getByLabel('Search the desktop mailbox').fill('Newsletter');
    await page.getByRole('button', { name: 'Search', exact: true }).click();
    await expect.poll(() => results(page)).toEqual(['[H1] Newsletter in HTML']);
    await page.locator('.desktop-list .row-link').first().click();
    const frame = page.locator('iframe.body-frame');
    await frame.waitFor();
    expect(await frame.getAttribute('sandbox')).toBe('allow-popups allow-popups-to-escape-sandbox');
    expect(await frame.getAttribute('src')).toMatch(/^\/api\/v1\/desktop\/emails\/[^/]+\/view$/);
    await expect.poll(() => page.frameLocator('iframe.body-frame').locator('#hello').innerText()).toBe('Hello from the newsletter');
    const view = page.frames().find((f) => f.url().includes('/view'))!;
    expect(await view.evaluate(() => document.querySelectorAll('script, [onerror]').length)).toBe(0);
    expect(await page.title()).toBe('Twinbox');
    await fitsAndPasses(page);
  });

  it('shows the desktop folders and a folder newest first, and moves a message to another folder', async () => {
    await nav(page, 'Folders').click();
    const tree = page.getByRole('list', { name: 'Desktop folders' });
    await tree.getByRole('link', { name: /Projects/ }).waitFor();
    // Projects: two unread (P1, P2).
    expect(await tree.getByRole('link', { name: /Projects/ }).innerText()).toMatch(/Projects\s*2/);
    expect(await tree.getByRole('link').allInnerTexts()).toEqual(expect.arrayContaining([expect.stringMatching(/^Inbox/), expect.stringMatching(/^Archive/)]));
    await fitsAndPasses(page);
    await page.screenshot({ path: join(SHOTS, 'folders.png') });

    await tree.getByRole('link', { name: /Projects/ }).click();
    await expect.poll(() => results(page)).toEqual(['[P2] Move me to the archive', '[P1] Quarterly report', LONG_SHOWN]);
    await fitsAndPasses(page);

    await page.locator('.desktop-list .row-link', { hasText: 'Move me to the archive' }).click();
    await page.locator('#message-subject').waitFor();
    await page.getByRole('button', { name: 'Move to…' }).click();
    await page.getByLabel('Move to folder').selectOption({ label: 'Archive' });
    await fitsAndPasses(page);
    await page.screenshot({ path: join(SHOTS, 'move.png') });
    await page.getByRole('button', { name: 'Move', exact: true }).click();
    await expect.poll(() => page.locator('.toast').innerText()).toContain('Moved to Archive on the desktop');
    // Back in the folder, without the message; on the desktop it is in Archive and not in Projects.
    await expect.poll(() => results(page)).toEqual(['[P1] Quarterly report', LONG_SHOWN]);
    expect(await labelsIn(imap, 'Archive')).toEqual(['P2']);
    expect((await labelsIn(imap, 'Projects')).sort()).toEqual(['P1', 'P3']);

    // The hostile subject, opened: still 360 px wide.
    await page.locator('.desktop-list .row-link', { hasText: 'SSSS' }).click();
    await page.locator('#message-subject').waitFor();
    await fitsAndPasses(page);
    await page.getByRole('button', { name: '← Back' }).click();
  });

  it('downloads an attachment from the desktop when it is tapped', async () => {
    await page.locator('.desktop-list .row-link', { hasText: 'Quarterly report' }).click();
    await page.locator('#message-subject').waitFor();
    const link = page.getByRole('list', { name: 'Attachments' }).getByRole('link', { name: 'report.pdf' });
    expect(await link.getAttribute('href')).toMatch(/^\/api\/v1\/desktop\/emails\/[^/]+\/parts\/[^/]+$/);
    const [download] = await Promise.all([page.waitForEvent('download'), link.click()]);
    expect(download.suggestedFilename()).toBe('report.pdf');
    expect(readFileSync((await download.path())!)).toEqual(REPORT);
    reportMessage = page.url();
  });

  it('says the desktop is offline in the new views, and the window keeps working', async () => {
    await daemon.stop();
    await expect.poll(() => page.locator('.banner').innerText(), { timeout: 20_000 }).toContain('desktop offline');

    await nav(page, 'Search').click();
    await expect.poll(() => page.locator('.desktop-offline').innerText()).toContain('Your desktop is offline: only the messages on the phone can be opened');
    await page.getByLabel('Search the desktop mailbox').fill('glazier');
    await page.getByRole('button', { name: 'Search', exact: true }).click();
    await expect.poll(() => page.locator('.desktop-offline').innerText()).toContain('Your desktop is offline: only the messages on the phone can be opened');
    expect(await results(page)).toEqual([]);
    await fitsAndPasses(page);
    await page.screenshot({ path: join(SHOTS, 'offline.png') });

    await nav(page, 'Folders').click();
    await expect.poll(() => page.locator('.desktop-offline').innerText()).toContain('Your desktop is offline');

    // What the server cached of the desktop still opens: the message with the report, and the report itself.
    await page.goto(reportMessage);
    await expect.poll(() => page.locator('#message-subject').innerText()).toBe('[P1] Quarterly report');
    const link = page.getByRole('list', { name: 'Attachments' }).getByRole('link', { name: 'report.pdf' });
    const [download] = await Promise.all([page.waitForEvent('download'), link.click()]);
    expect(readFileSync((await download.path())!)).toEqual(REPORT);
    // What it never cached: the clear message.
    await page.goto(new URL(unopened, page.url()).href);
    await expect.poll(() => page.locator('.desktop-offline').innerText()).toContain('Your desktop is offline: only the messages on the phone can be opened');

    // The window: its list and its messages, as before.
    await nav(page, 'Inbox').click();
    await expect.poll(() => windowList(page)).toEqual([25, 24, 23].map((i) => `[R${i}] Budget review ${i}`));
    await page.locator('main > .list .row-link').first().click();
    await expect.poll(() => page.locator('#message-subject').innerText()).toBe('[R25] Budget review 25');
    expect((await page.locator('.text-body').innerText()).trim()).toBe('Body of R25.');
  });

  it("says so in words when the desktop is too slow (the server's TIMEOUT answer, put in its place here)", async () => {
    // A desktop that answers after the server's deadline cannot be made to order: the answer the
    // server gives then (docs/reach.md: TIMEOUT, 504) is substituted for the real one.
    await page.route('**/api/v1/desktop/query', (route) =>
      route.fulfill({ status: 504, contentType: 'application/json', body: JSON.stringify({ error: { code: 'TIMEOUT', message: 'the desktop did not answer in time' } }) }),
    );
    try {
      await nav(page, 'Search').click();
      await page.getByLabel('Search the desktop mailbox').fill('slow');
      await page.getByRole('button', { name: 'Search', exact: true }).click();
      await expect.poll(() => page.locator('.desktop-error').innerText()).toContain('The desktop did not answer in time');
      await page.locator('.desktop-error').getByRole('button', { name: 'Try again' }).waitFor();
      await fitsAndPasses(page);
    } finally {
      await page.unroute('**/api/v1/desktop/query');
    }
  });
});
