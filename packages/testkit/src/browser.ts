/**
 * A real browser for the web app's tests (issue 12): Debian's Chromium
 * (/usr/bin/chromium, installed by scripts/install-system-deps.sh), driven by
 * playwright-core — which never downloads a browser of its own.
 *
 * The server's test certificate is trusted by its public key
 * (--ignore-certificate-errors-spki-list), not by switching certificate checks
 * off: the page is a secure context, so its service worker registers and
 * Secure cookies work as on a phone with a real certificate. The background
 * networking Chromium does on its own is off (this machine's network is closed).
 */
import { createHash, X509Certificate } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { chromium, type Browser, type BrowserContext } from 'playwright-core';

export const CHROMIUM = process.env.TWINBOX_CHROMIUM ?? '/usr/bin/chromium';

/** The base64 SHA-256 of a certificate's public key, as Chromium's SPKI allow-list takes it. */
export function spkiHash(certPath: string): string {
  const spki = new X509Certificate(readFileSync(certPath)).publicKey.export({ type: 'spki', format: 'der' });
  return createHash('sha256').update(spki).digest('base64');
}

export function chromiumAvailable(): boolean {
  return existsSync(CHROMIUM);
}

export async function launchChromium(trustCertificates: string[]): Promise<Browser> {
  if (!chromiumAvailable()) throw new Error(`no Chromium at ${CHROMIUM}: run scripts/install-system-deps.sh (Debian's chromium package)`);
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--disable-dev-shm-usage',
      `--ignore-certificate-errors-spki-list=${trustCertificates.map(spkiHash).join(',')}`,
    ],
  });
}

/** A phone: 360×740 CSS pixels, touch, a phone's user agent string. */
export function phoneContext(browser: Browser): Promise<BrowserContext> {
  return browser.newContext({
    viewport: { width: 360, height: 740 },
    deviceScaleFactor: 2,
    isMobile: true,
    hasTouch: true,
    userAgent: 'Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/156.0 Mobile Safari/537.36',
    serviceWorkers: 'allow',
  });
}
