/**
 * The web app's server side over real HTTPS (issue 12): a sign-in code becomes
 * a session cookie once; a cookie-borne change needs the app's header; a POST
 * with an Idempotency-Key happens once however often it is sent; the event
 * stream says when the phone mailbox changes; the app's files come compressed
 * under a strict policy; a revoked device is out, token and cookie alike.
 */
import type { IncomingMessage } from 'node:http';
import { request } from 'node:https';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TwinboxSystem } from '@twinbox/testkit';

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

describe('web app sessions and the server side of the app', () => {
  let system: TwinboxSystem;
  let device: { device: number; token: string; signInUrl: string };
  let cookie: string;

  const call = (method: string, path: string, headers: Record<string, string> = {}, body?: unknown): Promise<Answer> =>
    new Promise((resolve, reject) => {
      const data = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
      const req = request(
        { host: '127.0.0.1', port: system.port, path, method, rejectUnauthorized: false, headers: { ...headers, ...(data ? { 'content-type': 'application/json', 'content-length': data.length } : {}) } },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }));
        },
      );
      req.on('error', reject);
      req.end(data);
    });

  const codeOf = (url: string) => new URL(url).hash.replace('#signin=', '');

  beforeAll(async () => {
    system = await TwinboxSystem.start({ window: 3 });
    await system.desktop.deliver({ label: 'D1' });
    await system.sync();
    device = await system.addPhoneDevice('user1', 'Pixel');
  });
  afterAll(async () => system?.stop());

  it('exchanges a sign-in code once for a session cookie', async () => {
    const signIn = await call('POST', '/api/v1/session', {}, { code: codeOf(device.signInUrl) });
    expect(signIn.status).toBe(200);
    expect(JSON.parse(signIn.body)).toEqual({ account: 'user1', device: { id: device.device, name: 'Pixel' } });
    const setCookie = String(signIn.headers['set-cookie']);
    expect(setCookie).toMatch(/^__Host-twinbox=tbs_[\w-]{43}; Path=\/; Secure; HttpOnly; SameSite=Strict; Max-Age=\d+$/);
    cookie = setCookie.split(';')[0]!;
    const again = await call('POST', '/api/v1/session', {}, { code: codeOf(device.signInUrl) });
    expect(again.status).toBe(401);
    expect(JSON.parse(again.body).error.message).toContain('device link');
    expect((await call('GET', '/api/v1/status', { cookie })).status).toBe(200);
    expect((await call('GET', '/api/v1/status', { cookie: '__Host-twinbox=tbs_forged' })).status).toBe(401);
  });

  it('refuses a cookie-borne change without the app header (cross-site request forgery)', async () => {
    const id = await system.phoneId('D1');
    const forged = await call('POST', `/api/v1/messages/${id}/flag`, { cookie });
    expect(forged.status).toBe(403);
    expect(JSON.parse(forged.body).error.code).toBe('FORBIDDEN');
    expect((await system.store.messages.get('user1', id))?.flagged).toBe(false);
    const fromApp = await call('POST', `/api/v1/messages/${id}/flag`, { cookie, 'x-twinbox-request': '1' });
    expect(fromApp.status).toBe(200);
    expect((await system.store.messages.get('user1', id))?.flagged).toBe(true);
  });

  it('does a POST with an Idempotency-Key once, however often it is sent', async () => {
    const headers = { cookie, 'x-twinbox-request': '1', 'idempotency-key': 'a3f1c2e4-0000-4000-8000-000000000001' };
    const mail = { to: ['friend@example.test'], subject: 'Once only', text: 'hi', viaSync: true };
    const first = await call('POST', '/api/v1/send', headers, mail);
    const second = await call('POST', '/api/v1/send', headers, mail);
    expect(first.status).toBe(202);
    expect(second.status).toBe(202);
    expect(JSON.parse(second.body).id).toBe(JSON.parse(first.body).id);
    expect(await system.phoneLabels('outbox')).toHaveLength(1);
    expect((await system.store.actions.pending('user1')).filter((a) => a.kind === 'sent' || a.kind === 'insert')).toHaveLength(0);
    expect((await call('POST', '/api/v1/send', { ...headers, 'idempotency-key': 'bad key!' }, mail)).status).toBe(400);
  });

  it('streams a mailbox event when the phone mailbox changes', async () => {
    const events: string[] = [];
    const req = request({ host: '127.0.0.1', port: system.port, path: '/api/v1/events', rejectUnauthorized: false, headers: { cookie } });
    const response = await new Promise<IncomingMessage>((resolve, reject) => {
      req.on('response', resolve);
      req.on('error', reject);
      req.end();
    });
    expect(response.headers['content-type']).toBe('text/event-stream; charset=utf-8');
    response.on('data', (chunk: Buffer) => events.push(...[...chunk.toString().matchAll(/^event: (\w+)$/gm)].map((m) => m[1]!)));
    await expect.poll(() => events).toEqual(['hello']);
    // Mail for the phone address arrives by SMTP at the server process (whose events the stream follows).
    await system.phoneReceive({ label: 'P1' });
    await expect.poll(() => events).toEqual(['hello', 'mailbox']);
    req.destroy();
  });

  it('serves the app compressed, under a strict Content-Security-Policy', async () => {
    const page = await call('GET', '/', { 'accept-encoding': 'br' });
    expect(page.status).toBe(200);
    expect(page.headers['content-encoding']).toBe('br');
    expect(page.headers['content-security-policy']).toContain("script-src 'self'");
    expect(page.headers['content-security-policy']).toContain("frame-ancestors 'none'");
    expect(page.headers['content-security-policy']).not.toContain('unsafe-inline');
    for (const path of ['/app.js', '/app.css', '/sw.js', '/manifest.webmanifest', '/icons/icon-192.png', '/icons/icon-512.png']) expect((await call('GET', path)).status, path).toBe(200);
    expect((await call('GET', '/nothing-here')).status).toBe(404);
    const manifest = JSON.parse((await call('GET', '/manifest.webmanifest')).body);
    expect(manifest.icons.map((i: { sizes: string }) => i.sizes)).toEqual(expect.arrayContaining(['192x192', '512x512']));
  });

  it('lists devices, ends a session on sign-out, and locks a revoked device out at once', async () => {
    const list = await system.serverCli(['device', 'list', '--id', 'user1', '--json']);
    expect(JSON.parse(list.stdout)).toMatchObject([{ id: device.device, name: 'Pixel', sessions: 1 }]);
    const second = await call('POST', '/api/v1/session', {}, { code: codeOf((await system.serverCli(['device', 'link', '--id', 'user1', '--device', String(device.device), '--json'])).stdout.match(/"signInUrl":"([^"]+)"/)![1]!) });
    const other = String(second.headers['set-cookie']).split(';')[0]!;
    const out = await call('DELETE', '/api/v1/session', { cookie: other, 'x-twinbox-request': '1' });
    expect(out.status).toBe(200);
    expect(String(out.headers['set-cookie'])).toContain('Max-Age=0');
    expect((await call('GET', '/api/v1/status', { cookie: other })).status).toBe(401);
    expect((await call('GET', '/api/v1/status', { cookie })).status).toBe(200);

    const revoke = await system.serverCli(['device', 'revoke', '--id', 'user1', '--device', String(device.device)]);
    expect(revoke.code).toBe(0);
    expect((await call('GET', '/api/v1/status', { cookie })).status).toBe(401);
    expect((await system.api('GET', '/api/v1/status', device.token)).status).toBe(401);
    expect((await system.serverCli(['device', 'revoke', '--id', 'user1', '--device', String(device.device)])).code).toBe(1);
  });
});
