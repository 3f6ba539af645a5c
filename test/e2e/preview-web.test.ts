/**
 * A window message held as a preview (docs/reach.md "Preview first", issue 21)
 * in the phone web app, end to end: Debian's Chromium, driven by
 * playwright-core, against the real server, the running desktop agent
 * (`twinbox-agent run`) and Dovecot. Two messages with a 1.5 MiB attachment
 * arrive in the desktop INBOX while the agent runs, and reach the phone's
 * window as previews (their attachments held on the desktop). From the phone:
 * one opens from the Inbox with its text and its attachment listed; tapped,
 * the attachment downloads byte for byte under its own name, through the
 * agent's request lane. With the agent stopped, the same attachment still
 * downloads (the server cached it as it passed), and the other message's
 * attachment, never fetched, is refused in words: the desktop is offline.
 * The opened message passes axe-core and fits 360 px.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AgentDaemon, ROOT, TwinboxSystem, launchChromium, layoutOverflow, phoneContext } from '@twinbox/testkit';
import { axeViolations } from './axe.js';

const SHOTS = join(ROOT, 'test-results', 'preview-web');
const MB = 1024 * 1024;
const day = (d: number) => new Date(Date.UTC(2026, 2, d, 9));

/** A labelled message: a text body and one large attachment `<label>.bin` (base64, lines of 76). */
function bigMessage(label: string, attachment: Buffer, date: Date): Buffer {
  return Buffer.from(
    [
      `X-Scenario-Label: ${label}`,
      'From: Colleague <colleague@example.test>',
      'To: user1@example.test',
      `Subject: [${label}] Survey data`,
      `Date: ${date.toUTCString()}`,
      `Message-ID: <${label}.${randomBytes(4).toString('hex')}@preview-web.test>`,
      'MIME-Version: 1.0',
      'Content-Type: multipart/mixed; boundary="outer"',
      '',
      '--outer',
      'Content-Type: text/plain; charset=utf-8',
      '',
      `The survey data for ${label} is attached.`,
      '--outer',
      `Content-Type: application/octet-stream; name="${label}.bin"`,
      `Content-Disposition: attachment; filename="${label}.bin"`,
      'Content-Transfer-Encoding: base64',
      '',
      ...(attachment.toString('base64').match(/.{1,76}/g) ?? []),
      '--outer--',
      '',
    ].join('\r\n'),
  );
}

/** Nothing reaches past the right edge of the 360 px screen, and axe finds no serious violation. */
async function fitsAndPasses(page: Page): Promise<void> {
  const layout = await layoutOverflow(page);
  expect(layout.viewport).toBe(360);
  expect(layout.scrollWidth).toBeLessThanOrEqual(layout.viewport);
  expect(layout.beyond).toEqual([]);
  expect(await axeViolations(page)).toEqual([]);
}

const windowList = (page: Page) => page.locator('main > .list .subject').allInnerTexts();

describe('a message held as a preview, in Chromium', () => {
  let system: TwinboxSystem;
  let daemon: AgentDaemon | undefined;
  let browser: Browser;
  let page: Page;
  const attachments = new Map(['V1', 'V2'].map((l) => [l, randomBytes(1.5 * MB + 777)]));
  /** The address of V2 in the web app, once opened. */
  let opened = '';

  const openFromInbox = async (label: string) => {
    await page.locator('main > .list .row-link', { hasText: `[${label}] Survey data` }).click();
    await expect.poll(() => page.locator('#message-subject').innerText()).toBe(`[${label}] Survey data`);
  };
  const attachmentLink = (label: string) => page.getByRole('list', { name: 'Attachments' }).getByRole('link', { name: `${label}.bin` });

  beforeAll(async () => {
    system = await TwinboxSystem.start({ window: 5 });
    await system.desktop.deliver({ label: 'S1', subject: 'A small one', date: day(1) });
    await system.sync();
    daemon = await system.startDaemon();
    mkdirSync(SHOTS, { recursive: true });
    browser = await launchChromium([join(system.serverDir, 'cert.pem')]);
    const context = await phoneContext(browser);
    page = await context.newPage();
    const device = await system.addPhoneDevice('user1', 'Pixel');
    await page.goto(device.signInUrl);
    await page.locator('main > .list .row').first().waitFor();
    await page.locator('.banner', { hasText: 'desktop online' }).waitFor({ timeout: 20_000 });
  });

  afterAll(async () => {
    await browser?.close();
    await daemon?.stop();
    await system?.stop();
  });

  it('large messages arriving on the desktop while the agent runs reach the phone as previews: their attachments held on the desktop', async () => {
    expect(await system.phoneLabels()).toEqual(['S1']);
    // The agent hears them (desktop push) and brings them into the window.
    for (const [i, label] of ['V1', 'V2'].entries()) await system.desktop.appendRaw(bigMessage(label, attachments.get(label)!, day(i + 2)), day(i + 2));
    await expect.poll(() => system.phoneLabels(), { timeout: 60_000 }).toEqual(['V2', 'V1', 'S1']);
    for (const label of ['V1', 'V2']) {
      const stored = (await system.phone().get(await system.phoneId(label)))!;
      expect(stored.heldParts).toEqual([{ partId: '2', size: attachments.get(label)!.length }]);
      expect(stored.size).toBeGreaterThan(2 * MB);
      expect((await system.phone().raw(stored.id))!.length).toBeLessThan(10_000);
    }
  });

  it('opens a preview from the Inbox with its text and attachment; tapped, the attachment downloads byte for byte through the agent', async () => {
    // The open Inbox shows them (the server's event stream), newest first.
    await expect.poll(() => windowList(page), { timeout: 20_000 }).toEqual(['[V2] Survey data', '[V1] Survey data', '[S1] A small one']);
    await openFromInbox('V2');
    expect((await page.locator('.text-body').innerText()).trim()).toBe('The survey data for V2 is attached.');
    const item = page.getByRole('list', { name: 'Attachments' }).getByRole('listitem');
    expect(await item.allInnerTexts()).toEqual([expect.stringMatching(/^V2\.bin \(1\.5 MB, on the desktop: fetched when opened\)$/)]);
    await fitsAndPasses(page);
    await page.screenshot({ path: join(SHOTS, 'preview.png') });
    opened = page.url();

    const link = attachmentLink('V2');
    expect(await link.getAttribute('href')).toMatch(new RegExp(`^/api/v1/messages/${await system.phoneId('V2')}/attachments/\\d+$`));
    const [download] = await Promise.all([page.waitForEvent('download'), link.click()]);
    expect(download.suggestedFilename()).toBe('V2.bin');
    expect(await download.failure()).toBeNull();
    expect(readFileSync((await download.path())!).equals(attachments.get('V2')!)).toBe(true);
    // Still a preview on the phone: the download did not bring the part into the window.
    expect((await system.phone().get(await system.phoneId('V2')))!.heldParts).not.toBeNull();
  });

  it('with the desktop offline: the downloaded attachment comes from the server cache; one never fetched is refused in words', async () => {
    await daemon!.stop();
    daemon = undefined;
    await expect.poll(() => page.locator('.banner').innerText(), { timeout: 20_000 }).toContain('desktop offline');

    // V2's attachment passed through the server once: it kept it (docs/reach.md, the cache).
    await page.goto(opened);
    await expect.poll(() => page.locator('#message-subject').innerText()).toBe('[V2] Survey data');
    const [again] = await Promise.all([page.waitForEvent('download'), attachmentLink('V2').click()]);
    expect(again.suggestedFilename()).toBe('V2.bin');
    expect(readFileSync((await again.path())!).equals(attachments.get('V2')!)).toBe(true);

    // V1's was never fetched: the desktop has to be there, and the user is told so, on the message still shown.
    await page.getByRole('button', { name: '← Back' }).click();
    await openFromInbox('V1');
    expect((await page.locator('.text-body').innerText()).trim()).toBe('The survey data for V1 is attached.');
    const downloads: unknown[] = [];
    page.on('download', (d) => downloads.push(d));
    await attachmentLink('V1').click();
    await expect.poll(() => page.locator('.toast').innerText()).toBe('This attachment is on your desktop, which is offline: it can be downloaded when the desktop is back.');
    expect(downloads).toEqual([]);
    expect(await page.locator('#message-subject').innerText()).toBe('[V1] Survey data');
    expect((await page.locator('.text-body').innerText()).trim()).toBe('The survey data for V1 is attached.');
    await fitsAndPasses(page);
    await page.screenshot({ path: join(SHOTS, 'offline.png') });
  });
});
