/**
 * The phone shows what one bad message held back, and lets its user try
 * again (docs/quarantine.md): a desktop IMAP server refuses one message from
 * the phone (Dovecot's quota plugin: NO [LIMIT]); after three syncs it is set
 * aside, and the web app in Chromium names it in its banner with the error;
 * "Try again" queues the change once more.
 */
import { join } from 'node:path';
import type { Browser } from 'playwright-core';
import { afterAll, describe, expect, it } from 'vitest';
import { TwinboxSystem, dovecotRefusesMailOver, launchChromium, layoutOverflow, phoneContext } from '@twinbox/testkit';

describe('the phone shows a set-aside change and retries it', () => {
  let system: TwinboxSystem | undefined;
  let browser: Browser | undefined;
  afterAll(async () => {
    await browser?.close();
    await system?.stop();
  });

  it('quarantine-banner: the refused message is named with the error; Try again queues it once more', async () => {
    system = await TwinboxSystem.start({ window: 4, dovecot: dovecotRefusesMailOver(60_000) });
    await system.sync();
    await system.phoneReceive({ label: 'BIG', subject: 'Quarterly slides', size: 100_000 });
    for (let i = 0; i < 3; i++) await system.sync();
    expect(await system.store.quarantine.list('user1')).toHaveLength(1);

    const device = await system.addPhoneDevice('user1');
    browser = await launchChromium([join(system.serverDir, 'cert.pem')]);
    const page = await (await phoneContext(browser)).newPage();
    await page.goto(device.signInUrl);
    const banner = page.locator('.banner .quarantine');
    await banner.waitFor();
    expect(await banner.innerText()).toMatch(/“\[BIG\] Quarterly slides” failed: the desktop refused it \(.*LIMIT/);
    const layout = await layoutOverflow(page);
    expect(layout.scrollWidth).toBeLessThanOrEqual(360);

    await banner.getByRole('button', { name: 'Try again' }).click();
    await expect.poll(async () => (await system!.store.actions.pending('user1')).map((a) => a.kind)).toEqual(['insert']);
    await expect.poll(() => banner.count()).toBe(0);
    expect(await system.store.quarantine.list('user1')).toEqual([]);
  });
});
