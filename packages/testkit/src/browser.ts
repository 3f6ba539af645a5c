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
import { chromium, type Browser, type BrowserContext, type Frame, type Page } from 'playwright-core';

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

export interface LayoutOverflow {
  /** The page's viewport width in CSS pixels. */
  viewport: number;
  /** `document.documentElement.scrollWidth`: wider than the viewport means the page scrolls sideways. */
  scrollWidth: number;
  /** Elements whose right edge lies beyond the viewport (tag, class and the first characters of their text). */
  beyond: string[];
}

/**
 * How far a page reaches past the screen's right edge (issue 18: "a layout no
 * message can break"). Elements inside a container that scrolls sideways on
 * purpose (overflow-x auto or scroll) are counted only by that container.
 */
export function layoutOverflow(page: Page | Frame): Promise<LayoutOverflow> {
  return page.evaluate(LAYOUT_PROBE) as Promise<LayoutOverflow>;
}

/** Runs in the page (a string: the testkit is compiled without the DOM's types). */
const LAYOUT_PROBE = `(() => {
  const viewport = document.documentElement.clientWidth;
  const scrolls = (e) => ['auto', 'scroll'].includes(getComputedStyle(e).overflowX);
  const beyond = [];
  for (const element of document.body.querySelectorAll('*')) {
    const box = element.getBoundingClientRect();
    if (box.width === 0 || box.right <= viewport + 0.5) continue;
    let inside = element.parentElement;
    while (inside && inside !== document.body && !scrolls(inside)) inside = inside.parentElement;
    if (inside && inside !== document.body) continue;
    const classes = typeof element.className === 'string' && element.className ? '.' + element.className.trim().split(/\\s+/).join('.') : '';
    beyond.push(element.tagName.toLowerCase() + classes + ' right=' + Math.round(box.right) + ' "' + (element.textContent || '').trim().slice(0, 40) + '"');
  }
  return { viewport, scrollWidth: document.documentElement.scrollWidth, beyond };
})()`;
