/**
 * A layout no message can break (issue 18, finding 12): one long unbroken
 * sender name once widened the phone app to 1,461 px at a 360 px viewport.
 * Here mail with hostile headers — a 2,000-character unbroken subject, sender
 * name and address, recipients, attachment name, an unbroken word and long
 * URLs in the body — goes through the real system (Dovecot, agent, server)
 * into Debian's Chromium at 360×740, and every view is measured: the lists,
 * the message (text and HTML), compose, the Outbox with a long send error,
 * the banners and the toast. The page never grows wider than the screen and
 * no element reaches past its right edge. Screenshots go to
 * test-results/hostile-layout/.
 *
 * The headers are plain (no RFC 2047 encoded words), so what is measured does
 * not depend on how the server decodes them.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT, TwinboxSystem, launchChromium, layoutOverflow, phoneContext } from '@twinbox/testkit';

const SHOTS = join(ROOT, 'test-results', 'hostile-layout');
const LONG = 2000;
const SUBJECT = 'S'.repeat(LONG);
const NAME = 'N'.repeat(LONG);
const SENDER = `${'s'.repeat(LONG)}@hostile.example`;
const RECIPIENT = `${'r'.repeat(LONG)}@hostile.example`;
const COPY = `${'c'.repeat(LONG)}@hostile.example`;
/** A long address the relay takes (SMTP carries it; its line limit is 512). */
const ACCEPTED = `${'a'.repeat(200)}@accepted.example`;
const FILENAME = `${'F'.repeat(LONG)}.pdf`;
const WORD = 'W'.repeat(3000);
const URL_ = `https://hostile.example/${'u'.repeat(LONG)}?q=${'v'.repeat(500)}`;
/** What the relay refuses: an address long enough to make a long send error, short enough for SMTP to carry it. */
const REFUSED = `${'x'.repeat(200)}@refused.example`;

/** A message with every hostile header, a text body and an attachment (plain headers, lines longer than RFC 5322's 998). */
function hostileText(label: string): Buffer {
  return Buffer.from(
    [
      `From: "${NAME}" <${SENDER}>`,
      `To: "${'T'.repeat(LONG)}" <${RECIPIENT}>, user1@example.test`,
      `Cc: ${COPY}`,
      `Subject: ${SUBJECT}`,
      `Date: ${new Date(Date.UTC(2026, 10, 20, 9, 0)).toUTCString()}`,
      `Message-ID: <${label}.layout@twinbox.test>`,
      `X-Scenario-Label: ${label}`,
      'MIME-Version: 1.0',
      'Content-Type: multipart/mixed; boundary="b1"',
      '',
      '--b1',
      'Content-Type: text/plain; charset=utf-8',
      '',
      `An unbroken word: ${WORD}`,
      `A long link: ${URL_}`,
      '--b1',
      `Content-Type: application/pdf; name="${FILENAME}"`,
      `Content-Disposition: attachment; filename="${FILENAME}"`,
      'Content-Transfer-Encoding: base64',
      '',
      'JVBERi0xLjQK',
      '--b1--',
      '',
    ].join('\r\n'),
  );
}

/** An HTML mail with an unbroken word, a long link and a long preformatted line. */
function hostileHtml(label: string): Buffer {
  return Buffer.from(
    [
      `From: ${SENDER}`,
      'To: user1@example.test',
      `Subject: ${'H'.repeat(LONG)}`,
      `Date: ${new Date(Date.UTC(2026, 10, 20, 8, 0)).toUTCString()}`,
      `Message-ID: <${label}.layout@twinbox.test>`,
      `X-Scenario-Label: ${label}`,
      'MIME-Version: 1.0',
      'Content-Type: text/html; charset=utf-8',
      '',
      `<p>${WORD}</p><p><a href="${URL_}">${URL_}</a></p><pre>${WORD}</pre>`,
      '',
    ].join('\r\n'),
  );
}

describe('a layout no message can break (360×740, hostile headers)', () => {
  let system: TwinboxSystem;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  let token: string;

  /** The page fits the screen: nothing scrolls sideways, nothing reaches past the right edge; a screenshot is kept. */
  async function fitsTheScreen(name: string): Promise<void> {
    const layout = await layoutOverflow(page);
    await page.screenshot({ path: join(SHOTS, `${name}.png`) });
    console.log(`layout ${name}: scrollWidth ${layout.scrollWidth} at a viewport of ${layout.viewport}`);
    expect(layout.viewport).toBe(360);
    expect(layout.beyond, name).toEqual([]);
    expect(layout.scrollWidth, name).toBeLessThanOrEqual(360);
  }

  beforeAll(async () => {
    mkdirSync(SHOTS, { recursive: true });
    system = await TwinboxSystem.start({ window: 5 });
    await system.desktop.deliver({ label: 'N1', subject: 'An ordinary message', date: new Date(Date.UTC(2026, 10, 20, 7, 0)) });
    await system.desktop.appendRaw(hostileHtml('H2'), new Date(Date.UTC(2026, 10, 20, 8, 0)));
    await system.desktop.appendRaw(hostileText('H1'), new Date(Date.UTC(2026, 10, 20, 9, 0)));
    await system.desktop.appendRaw(hostileText('H3'), new Date(Date.UTC(2026, 10, 20, 9, 30)));
    await system.sync();
    const device = await system.addPhoneDevice('user1', `Phone${'P'.repeat(300)}`);
    token = device.token;
    // One hostile message is in the phone Trash.
    expect((await system.api('POST', `/api/v1/messages/${await system.phoneId('H3')}/trash`, token)).status).toBe(200);
    browser = await launchChromium([join(system.serverDir, 'cert.pem')]);
    context = await phoneContext(browser);
    page = await context.newPage();
    await page.goto(device.signInUrl);
    await page.locator('.list .row').first().waitFor();
  });

  afterAll(async () => {
    await browser?.close();
    await system?.stop();
  });

  it('the Inbox list cuts a 2,000-character subject, sender and preview with an ellipsis', async () => {
    await expect.poll(() => page.locator('.list .row').count()).toBe(3);
    const row = page.locator('.row', { hasText: /SSSS/ });
    // One line each, cut: the row keeps its height and its date stays on screen.
    const { subject, from, date } = await row.evaluate((r) => {
      const box = (s: string) => r.querySelector(s)!.getBoundingClientRect();
      return { subject: box('.subject'), from: box('.from'), date: box('.date') };
    });
    expect(subject.height).toBeLessThan(40);
    expect(from.height).toBeLessThan(40);
    expect(date.right).toBeLessThanOrEqual(360);
    expect(await row.locator('.subject').evaluate((e) => getComputedStyle(e).textOverflow)).toBe('ellipsis');
    await fitsTheScreen('inbox');
  });

  it('the message view wraps the subject, sender, recipients, attachment name and an unbroken body', async () => {
    await page.locator('.row-link', { hasText: /SSSS/ }).click();
    await page.locator('.text-body').waitFor();
    expect(await page.locator('#message-subject').innerText()).toBe(SUBJECT);
    expect(await page.locator('.message-head dd').first().innerText()).toContain(SENDER);
    expect(await page.locator('.attachments a').innerText()).toBe(FILENAME);
    expect(await page.locator('.text-body').innerText()).toContain(WORD);
    await fitsTheScreen('message-text');
    // The toolbar's buttons are all on screen (the first thing the old layout pushed away).
    for (const button of await page.locator('.toolbar button').all()) expect((await button.boundingBox())!.x + (await button.boundingBox())!.width).toBeLessThanOrEqual(360);
  });

  it('an HTML body with an unbroken word and a long link wraps inside its frame', async () => {
    await page.getByRole('button', { name: '← Back' }).click();
    await page.locator('.row-link', { hasText: /HHHH/ }).click();
    await page.frameLocator('iframe.body-frame').locator('a').waitFor();
    await fitsTheScreen('message-html');
    const frame = page.frames().find((f) => f.url().includes('/view'))!;
    const inside = await layoutOverflow(frame);
    expect(inside.scrollWidth).toBeLessThanOrEqual(inside.viewport);
  });

  it('compose with 2,000-character addresses (reply all) and a forwarded attachment name fits', async () => {
    await page.getByRole('button', { name: '← Back' }).click();
    await page.locator('.row-link', { hasText: /SSSS/ }).click();
    await page.getByRole('button', { name: 'Reply all' }).click();
    await page.getByLabel('To', { exact: true }).waitFor();
    expect(await page.getByLabel('To', { exact: true }).inputValue()).toBe(SENDER);
    expect(await page.getByLabel('Cc', { exact: true }).inputValue()).toContain(COPY);
    await fitsTheScreen('compose-reply-all');
    await page.getByRole('button', { name: 'Discard' }).click();
    await page.locator('.row-link', { hasText: /SSSS/ }).click();
    await page.getByRole('button', { name: 'Forward' }).click();
    await page.locator('.compose .meta', { hasText: 'Forwarding with' }).waitFor();
    await fitsTheScreen('compose-forward');
    await page.getByRole('button', { name: 'Discard' }).click();
  });

  it('the Outbox shows a long send error and the toast a long refusal, both inside the screen', async () => {
    system.relay.refuse.add(REFUSED);
    await page.getByRole('link', { name: 'Compose' }).click();
    await page.getByLabel('To', { exact: true }).fill(REFUSED);
    await page.getByLabel('Subject', { exact: true }).fill(SUBJECT);
    await page.getByLabel('Message', { exact: true }).fill(WORD);
    await page.getByLabel(/Send through the desktop/).uncheck();
    await page.getByRole('button', { name: 'Send' }).click();
    await expect.poll(() => page.locator('.send-status.failed').count()).toBe(1);
    expect(await page.locator('.send-status.failed').innerText()).toContain(REFUSED);
    await expect.poll(() => page.locator('.toast').innerText()).toContain('Not done');
    await fitsTheScreen('outbox-send-error');
    // The whole error is in the message view.
    await page.locator('.row-link', { hasText: /SSSS/ }).click();
    await page.locator('.send-error').waitFor();
    expect(await page.locator('.send-error').innerText()).toContain(REFUSED);
    await fitsTheScreen('outbox-message');
  });

  it('Sent and Trash lists with hostile messages fit', async () => {
    // A direct send the relay accepts lands in Sent at once.
    await page.getByRole('link', { name: 'Compose' }).click();
    await page.getByLabel('To', { exact: true }).fill(ACCEPTED);
    await page.getByLabel('Subject', { exact: true }).fill(`Sent ${SUBJECT}`);
    await page.getByLabel(/Send through the desktop/).uncheck();
    await page.getByRole('button', { name: 'Send' }).click();
    await page.getByRole('navigation', { name: 'Folders' }).getByRole('link', { name: 'Sent', exact: true }).click();
    await expect.poll(() => page.locator('.list .row').count()).toBe(1);
    await fitsTheScreen('sent');
    await page.getByRole('navigation', { name: 'Folders' }).getByRole('link', { name: 'Trash', exact: true }).click();
    await expect.poll(() => page.locator('.list .row').count()).toBe(1);
    await fitsTheScreen('trash');
  });

  it('the offline banner, with actions waiting, fits', async () => {
    await page.evaluate(() => navigator.serviceWorker.ready);
    await page.getByRole('navigation', { name: 'Folders' }).getByRole('link', { name: 'Inbox', exact: true }).click();
    await page.locator('.list .row').first().waitFor();
    await page.locator('.row-link', { hasText: /HHHH/ }).click();
    // Shown first, from the network: offline too early, the service worker answers with the copy it cached
    // before the message was read, and the page (rightly, for what it sees) queues a second "read".
    await page.locator('#message-subject').waitFor();
    await context.setOffline(true);
    await page.getByRole('button', { name: 'Flag', exact: true }).click();
    await page.getByRole('button', { name: '← Back' }).click();
    await expect.poll(() => page.locator('.banner').innerText()).toMatch(/Offline.*1 action will be sent/);
    await fitsTheScreen('offline-banner');
    await context.setOffline(false);
  });
});
