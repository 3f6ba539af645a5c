/**
 * Web Push end to end with real processes (issue 20): the server (its own
 * process, its VAPID key made by `init`), the agent and Dovecot, and the
 * testkit's push service on loopback, which checks the VAPID JWT and decrypts
 * every push with the subscription's keys (RFC 8030/8291/8292). New mail that
 * enters the phone Inbox — by SMTP to the phone address, or from the desktop
 * in a sync — reaches the push service within a second, as one notification
 * per burst; a refill of the window notifies nobody; what it shows is the
 * device's choice; 404/410, turning notifications off, signing out and
 * revoking the device remove the subscription.
 */
import { request } from 'node:https';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TestPushService, TwinboxSystem, makeMessage, type TestSubscription } from '@twinbox/testkit';

interface Answer {
  status: number;
  json: any;
  headers: Record<string, string | string[] | undefined>;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const payloads = (service: TestPushService, id: string) => service.pushesFor(id).map((p) => JSON.parse(p.payload.toString()) as Record<string, unknown>);

describe('Web Push end to end', () => {
  let system: TwinboxSystem;
  let push: TestPushService;
  let token: string;
  let publicKey: string;
  let sub: TestSubscription & { id: string };

  /** A phone API request with a device token or a session cookie. */
  /** With a cookie the app's X-Twinbox-Request header goes along, unless `forged`. */
  const call = (method: string, path: string, auth: { token?: string; cookie?: string; forged?: boolean }, body?: unknown): Promise<Answer> =>
    new Promise((resolve, reject) => {
      const data = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
      const headers: Record<string, string | number> = {
        ...(auth.token ? { authorization: `Bearer ${auth.token}` } : {}),
        ...(auth.cookie ? { cookie: auth.cookie, ...(auth.forged ? {} : { 'x-twinbox-request': '1' }) } : {}),
        ...(data ? { 'content-type': 'application/json', 'content-length': data.length } : {}),
      };
      const req = request({ host: '127.0.0.1', port: system.port, path, method, rejectUnauthorized: false, headers }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          resolve({ status: res.statusCode!, json: text ? JSON.parse(text) : undefined, headers: res.headers });
        });
      });
      req.on('error', reject);
      req.end(data);
    });

  const signIn = async (signInUrl: string): Promise<string> => {
    const answer = await call('POST', '/api/v1/session', {}, { code: new URL(signInUrl).hash.replace('#signin=', '') });
    expect(answer.status).toBe(200);
    return String(answer.headers['set-cookie']).split(';')[0]!;
  };

  /** When a phone message entered its folder (the server's clock, as the push service's). */
  const storedAt = async (id: number) => (await system.store.engine.get<{ at: number }>('SELECT folder_since AS at FROM messages WHERE id = ?', [id]))!.at;

  const rows = () => system.store.engine.all<{ device: number; endpoint: string; show: string; pending: number }>('SELECT device_id AS device, endpoint, show, pending FROM push_subscriptions ORDER BY id');

  beforeAll(async () => {
    system = await TwinboxSystem.start({ window: 5 });
    for (let i = 1; i <= 7; i++) await system.desktop.deliver({ label: `D${i}`, date: new Date(Date.UTC(2026, 10, 20, 9, i)) });
    await system.sync();
    push = await TestPushService.start();
    await system.usePushService(push);
    token = (await system.addPhoneDevice('user1', 'Pixel')).token;
  });
  afterAll(async () => {
    await system?.stop();
    await push?.close();
  });

  it('init made the VAPID key (0600); the phone learns the key to subscribe with and registers its subscription', async () => {
    const { statSync } = await import('node:fs');
    expect(statSync(`${system.serverDir}/vapid-key.pem`).mode & 0o777).toBe(0o600);
    const info = await call('GET', '/api/v1/push', { token });
    expect(info.json).toMatchObject({ available: true, subscribed: false, show: null });
    publicKey = info.json.publicKey;
    expect(Buffer.from(publicKey, 'base64url')).toHaveLength(65);
    sub = push.subscribe(publicKey);
    const registered = await call('POST', '/api/v1/push/subscription', { token }, { subscription: { endpoint: sub.endpoint, keys: sub.keys }, show: 'sender' });
    expect(registered.status).toBe(200);
    expect(registered.json).toEqual({ subscribed: true, show: 'sender' });
    expect((await call('GET', '/api/v1/push', { token })).json).toMatchObject({ subscribed: true, show: 'sender' });
    // The initial sync before it filled the window: nothing there was new mail.
    expect(push.received).toHaveLength(0);
  });

  it('mail to the phone address sends a push within a second: signed, encrypted, TTL, Urgency: normal, a Topic; sender and subject as chosen, never the body', async () => {
    const started = Date.now();
    await system.phoneReceive({ label: 'P1', subject: 'Dinner at eight', from: 'Ann Smith <ann@example.test>' });
    const [received] = await push.waitFor(sub.id, 1, 5000);
    const latency = received!.at - (await storedAt(await system.phoneId('P1')));
    console.log(`web push: mail to the phone address stored → push service ${latency} ms (${received!.at - started} ms from the start of the SMTP delivery)`);
    expect(latency).toBeLessThan(1000);
    expect(received).toMatchObject({ ttl: 86400, urgency: 'normal', topic: 'twinbox-new-mail' });
    expect(received!.claims).toMatchObject({ aud: push.origin, sub: 'mailto:ops@twinbox.test' });
    expect(payloads(push, sub.id)[0]).toEqual({ type: 'newMail', v: 1, account: 'user1', count: 1, message: await system.phoneId('P1'), from: 'Ann Smith', subject: '[P1] Dinner at eight' });
    expect(received!.payload.toString()).not.toContain('Body of P1');
    expect(push.refusals).toEqual([]);
  });

  it('new desktop mail that a sync brings into the phone Inbox sends a push within a second of it arriving there', async () => {
    await call('POST', '/api/v1/push/seen', { token });
    await system.deliverToDesktop(makeMessage({ label: 'D8', subject: 'From the desktop', from: 'Bob <bob@example.test>' }));
    await system.sync();
    const [, second] = await push.waitFor(sub.id, 2, 5000);
    const latency = second!.at - (await storedAt(await system.phoneId('D8')));
    console.log(`web push: desktop mail inserted by a sync → push service ${latency} ms`);
    expect(latency).toBeLessThan(1000);
    expect(payloads(push, sub.id)[1]).toMatchObject({ count: 1, message: await system.phoneId('D8'), from: 'Bob', subject: '[D8] From the desktop' });
  });

  it('a refill of the window (the phone trashed a message, an older one comes up) notifies nobody', async () => {
    const before = push.received.length;
    expect((await call('POST', `/api/v1/messages/${await system.phoneId('D7')}/trash`, { token })).status).toBe(200);
    const summary = await system.sync();
    expect(summary.pulled).toBeGreaterThan(0);
    await sleep(1500);
    expect(push.received).toHaveLength(before);
  });

  it('a burst of mail is one notification counting all of it ("5 new messages"); with show "count" it carries no sender or subject', async () => {
    await call('POST', '/api/v1/push/seen', { token });
    expect((await call('POST', '/api/v1/push/settings', { token }, { show: 'count' })).json).toEqual({ subscribed: true, show: 'count' });
    const before = push.pushesFor(sub.id).length;
    await Promise.all([1, 2, 3, 4, 5].map((i) => system.phoneReceive({ label: `B${i}`, subject: `Burst ${i}` })));
    await push.waitFor(sub.id, before + 1, 5000);
    await sleep(1000);
    const burst = payloads(push, sub.id).slice(before);
    expect(burst.length).toBeLessThanOrEqual(2);
    expect(burst.at(-1)).toMatchObject({ count: 5 });
    for (const p of burst) expect(Object.keys(p).sort()).toEqual(['account', 'count', 'message', 'type', 'v']);
    // Queued for a phone that is offline, the Topic keeps one notification, the latest.
    expect(push.waiting(sub.id).map((p) => JSON.parse(p.payload.toString()).count)).toEqual([5]);
    expect((await call('POST', '/api/v1/push/settings', { token }, { show: 'bogus' })).status).toBe(400);
  });

  it('a 410 from the push service removes the subscription', async () => {
    push.expire(sub.id);
    await system.phoneReceive({ label: 'G1' });
    await expect.poll(async () => (await call('GET', '/api/v1/push', { token })).json.subscribed, { timeout: 5000 }).toBe(false);
    expect(await rows()).toEqual([]);
  });

  it('turning notifications off removes the subscription: no more pushes', async () => {
    sub = await system.subscribePush(push, token, 'count');
    expect((await call('GET', '/api/v1/push', { token })).json).toMatchObject({ subscribed: true, show: 'count' });
    expect((await call('DELETE', '/api/v1/push/subscription', { token })).json).toEqual({ subscribed: false });
    await system.phoneReceive({ label: 'O1' });
    await sleep(1000);
    expect(push.pushesFor(sub.id)).toHaveLength(0);
  });

  it('signing out and revoking the device remove its subscriptions; another browser of the device keeps its own', async () => {
    const phone = await system.addPhoneDevice('user1', 'Tablet');
    const link = JSON.parse((await system.serverCli(['device', 'link', '--id', 'user1', '--device', String(phone.device), '--json'])).stdout) as { signInUrl: string };
    const [first, second] = [await signIn(phone.signInUrl), await signIn(link.signInUrl)];
    const [a, b] = [push.subscribe(publicKey), push.subscribe(publicKey)];
    expect((await call('POST', '/api/v1/push/subscription', { cookie: first }, { subscription: a, show: 'sender' })).status).toBe(200);
    expect((await call('POST', '/api/v1/push/subscription', { cookie: second }, { subscription: b })).status).toBe(200);
    // Without the app's header a cookie cannot register or remove anything (the forgery fence).
    expect((await call('DELETE', '/api/v1/push/subscription', { cookie: first, forged: true })).status).toBe(403);
    expect((await rows()).map((r) => r.endpoint)).toEqual([a.endpoint, b.endpoint]);
    expect((await call('DELETE', '/api/v1/session', { cookie: first })).status).toBe(200);
    expect((await rows()).map((r) => r.endpoint)).toEqual([b.endpoint]);
    const revoke = await system.serverCli(['device', 'revoke', '--id', 'user1', '--device', String(phone.device)]);
    expect(revoke.code).toBe(0);
    expect(await rows()).toEqual([]);
    await system.phoneReceive({ label: 'R1' });
    await sleep(1000);
    expect([...push.pushesFor(a.id), ...push.pushesFor(b.id)]).toEqual([]);
  });
});
