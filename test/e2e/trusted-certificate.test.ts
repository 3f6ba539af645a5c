/**
 * The web app under a certificate a browser trusts (docs/trust.md): the
 * server's certificate is issued by a CA — here a test CA, added to
 * Chromium's trust store (an NSS database, as on a desktop Linux; a phone has
 * its own store) — for a host name, on the server's own key, and the server
 * takes it without a restart. Chromium runs with no certificate check
 * switched off: the page is a secure context because the certificate is
 * valid, so the service worker registers, the app reads offline and is
 * installable. The agent, which pins the key, syncs on.
 */
import { join } from 'node:path';
import { connect } from 'node:tls';
import type { BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TwinboxSystem, homeTrusting, issueServerCertificate, launchPhoneTrusting, makeTestCa, type TestCa } from '@twinbox/testkit';

const HOST = 'twinbox.test';

/** The certificate's subject a new TLS connection is served. */
function servedSubject(port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port, servername: HOST, rejectUnauthorized: false }, () => {
      resolve(socket.getPeerX509Certificate()?.subject ?? '');
      socket.end();
    });
    socket.on('error', reject);
  });
}

describe('the web app under a trusted certificate, in Chromium with no certificate errors ignored', () => {
  let system: TwinboxSystem;
  let ca: TestCa;
  let phone: BrowserContext;
  let page: Page;
  let origin: string;

  beforeAll(async () => {
    system = await TwinboxSystem.start({ window: 5 });
    for (let i = 1; i <= 3; i++) await system.desktop.deliver({ label: `D${i}`, subject: `Trusted ${i}`, date: new Date(Date.UTC(2026, 10, 20, 9, i)) });
    await system.sync();
    ca = makeTestCa();
    issueServerCertificate(ca, join(system.serverDir, 'key.pem'), join(system.serverDir, 'cert.pem'), HOST);
    // Taken without a restart (the server reloads its TLS files within about a second).
    for (let waited = 0; (await servedSubject(system.port)) !== `CN=${HOST}`; waited += 200) {
      if (waited > 10_000) throw new Error('the server did not take the new certificate');
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    origin = `https://${HOST}:${system.port}`;
    phone = await launchPhoneTrusting(homeTrusting([ca.cert]), { [HOST]: '127.0.0.1' });
    page = phone.pages()[0] ?? (await phone.newPage());
  });

  afterAll(async () => {
    await phone?.close();
    await system?.stop();
  });

  it('a browser without the CA refuses the page (the check is on)', async () => {
    const stranger = await launchPhoneTrusting(homeTrusting([]), { [HOST]: '127.0.0.1' });
    try {
      const tab = stranger.pages()[0] ?? (await stranger.newPage());
      await expect(tab.goto(`${origin}/`)).rejects.toThrow(/ERR_CERT_AUTHORITY_INVALID/);
    } finally {
      await stranger.close();
    }
  });

  it('signs in, and the service worker registers and takes control', async () => {
    const device = await system.addPhoneDevice('user1', 'Trusted phone');
    await page.goto(device.signInUrl.replace(/^https:\/\/[^/]+/, origin));
    await page.locator('.list .row').first().waitFor();
    const scope = await page.evaluate(async () => (await navigator.serviceWorker.ready).scope);
    expect(scope).toBe(`${origin}/`);
    await page.reload();
    await page.locator('.list .row').first().waitFor();
    expect(await page.evaluate(() => navigator.serviceWorker.controller?.state)).toBe('activated');
    expect(await page.evaluate(() => window.isSecureContext)).toBe(true);
  });

  it('reads the inbox and a message offline', async () => {
    await page.locator('.row-link', { hasText: 'Trusted 3' }).click();
    await page.locator('#message-subject').waitFor();
    await page.getByRole('button', { name: '← Back' }).click();
    await page.locator('.list .row').first().waitFor();
    await phone.setOffline(true);
    try {
      await page.reload();
      await page.locator('.list .row').first().waitFor();
      expect(await page.locator('.list .subject').allInnerTexts()).toEqual(['[D3] Trusted 3', '[D2] Trusted 2', '[D1] Trusted 1']);
      await page.locator('.row-link', { hasText: 'Trusted 3' }).click();
      expect((await page.locator('.text-body').innerText()).trim()).toBe('Body of D3.');
    } finally {
      await phone.setOffline(false);
    }
  });

  it('is installable (Chromium finds no installability error) and the agent still syncs', async () => {
    const cdp = await phone.newCDPSession(page);
    const { installabilityErrors } = (await cdp.send('Page.getInstallabilityErrors')) as { installabilityErrors: { errorId: string }[] };
    expect(installabilityErrors).toEqual([]);
    const { errors, url } = (await cdp.send('Page.getAppManifest')) as { errors: unknown[]; url: string };
    expect([url, errors]).toEqual([`${origin}/manifest.webmanifest`, []]);
    // The certificate changed, its key did not: the agent's pin holds.
    await system.desktop.deliver({ label: 'D4', subject: 'Trusted 4', date: new Date(Date.UTC(2026, 10, 20, 9, 4)) });
    await system.sync();
    expect((await system.phoneLabels())[0]).toBe('D4');
  });
});
