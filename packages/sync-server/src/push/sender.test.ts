/**
 * The push sender and queue in process (issue 20), against the testkit's
 * loopback push service (RFC 8030/8291/8292 checked there, independently of
 * web-push): a push arrives signed and decryptable with TTL, Urgency and
 * Topic; the connection goes to the address that was checked, never to a
 * second answer of DNS (rebinding); endpoints that are not https, too long, or
 * resolve to loopback, private or link-local addresses are refused at send
 * time with nothing sent (a listener there sees nothing); 404/410 remove the
 * subscription; 5xx, 429 and a push service that hangs are retried later.
 */
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConnectionCounter, TestPushService } from '@twinbox/testkit';
import { createLogger } from '@twinbox/log';
import { ServerStore } from '../store/index.js';
import { allowedNetworks, systemLookup, type EndpointPolicy, type Lookup } from './endpoint-policy.js';
import { PUSH_LIMITS } from './limits.js';
import { PushNotifier } from './notifier.js';
import { PushSender, type PushOutcome } from './sender.js';
import { loadVapidKey, makeVapidKey } from './vapid.js';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const SUBJECT = 'mailto:ops@twinbox.test';

describe('push sender and queue', () => {
  let service: TestPushService;
  let ca: Buffer;
  let dir: string;
  let vapid: ReturnType<typeof loadVapidKey>;
  const log = createLogger('server');

  const sender = (policy: Partial<EndpointPolicy> = {}, requestTimeoutMs?: number) =>
    new PushSender({
      vapid: { ...vapid, subject: SUBJECT },
      policy: { allowed: allowedNetworks(['127.0.0.1/32']), lookup: systemLookup, ...policy },
      ttlSeconds: 3600,
      ca,
      ...(requestTimeoutMs ? { requestTimeoutMs } : {}),
    });

  beforeAll(async () => {
    service = await TestPushService.start();
    ca = readFileSync(service.certPath);
    dir = mkdtempSync(join(tmpdir(), 'twinbox-vapid-'));
    expect(makeVapidKey(join(dir, 'vapid-key.pem'))).toBe(true);
    expect(makeVapidKey(join(dir, 'vapid-key.pem'))).toBe(false);
    vapid = loadVapidKey(join(dir, 'vapid-key.pem'));
  });
  afterAll(async () => {
    await service?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('a push arrives signed (VAPID) and encrypted (aes128gcm), with TTL, Urgency: normal and a Topic', async () => {
    const sub = service.subscribe(vapid.publicKey);
    const outcome = await sender().send({ endpoint: sub.endpoint, ...sub.keys }, Buffer.from('{"hello":"phone"}'));
    expect(outcome).toEqual({ kind: 'delivered', status: 201 });
    const [push] = service.pushesFor(sub.id);
    expect(push!.payload.toString()).toBe('{"hello":"phone"}');
    expect(push).toMatchObject({ ttl: 3600, urgency: 'normal', topic: PUSH_LIMITS.topic });
    expect(push!.claims).toMatchObject({ aud: service.origin, sub: SUBJECT });
    expect(push!.claims.exp * 1000 - Date.now()).toBeLessThanOrEqual(24 * 3600_000);
    expect(service.refusals).toEqual([]);
  });

  it('connects to the address it checked and never asks DNS again; TLS checks the certificate for the endpoint\'s name', async () => {
    const sub = service.subscribe(vapid.publicKey);
    const asked: string[] = [];
    // push.test resolves nowhere but through this resolver; the service's certificate names it.
    const lookup: Lookup = async (host) => (asked.push(host), [{ address: '127.0.0.1', family: 4 }]);
    const endpoint = sub.endpoint.replace('127.0.0.1', 'push.test');
    expect(await sender({ lookup }).send({ endpoint, ...sub.keys }, Buffer.from('{}'))).toMatchObject({ kind: 'delivered' });
    expect(asked).toEqual(['push.test']);
    // A name the certificate does not carry fails TLS (and is retried later, never sent in clear).
    const wrongName = sub.endpoint.replace('127.0.0.1', 'other.test');
    const outcome = await sender({ lookup: async () => [{ address: '127.0.0.1', family: 4 }] }).send({ endpoint: wrongName, ...sub.keys }, Buffer.from('{}'));
    expect(outcome).toMatchObject({ kind: 'retry', reason: expect.stringContaining('ERR_TLS_CERT_ALTNAME_INVALID') });
    expect(service.pushesFor(sub.id)).toHaveLength(1);
  });

  it('DNS rebinding: a name that resolved to a public address at registration and to loopback now is refused, nothing sent', async () => {
    const trap = await ConnectionCounter.start('127.0.0.2');
    try {
      const answers = [[{ address: '93.184.215.14', family: 4 as const }], [{ address: '127.0.0.2', family: 4 as const }]];
      const lookup: Lookup = async () => answers.shift() ?? [];
      const sub = service.subscribe(vapid.publicKey);
      const endpoint = `https://rebind.test:${trap.port}/push/x`;
      const { resolveEndpoint, checkEndpointUrl } = await import('./endpoint-policy.js');
      // At registration the name is public…
      await expect(resolveEndpoint(checkEndpointUrl(endpoint), { allowed: [], lookup })).resolves.toEqual({ address: '93.184.215.14', family: 4 });
      // …at send time it points inward: refused before any connection.
      const outcome = await sender({ lookup }).send({ endpoint, ...sub.keys }, Buffer.from('{}'));
      expect(outcome).toMatchObject({ kind: 'refused', reason: expect.stringContaining('loopback') });
      // A name that resolves to a public and a private address is refused as a whole.
      const mixed: Lookup = async () => [{ address: '93.184.215.14', family: 4 }, { address: '10.0.0.7', family: 4 }];
      expect(await sender({ lookup: mixed }).send({ endpoint, ...sub.keys }, Buffer.from('{}'))).toMatchObject({ kind: 'refused', reason: expect.stringContaining('private') });
      await new Promise((r) => setTimeout(r, 100));
      expect(trap.connections).toBe(0);
    } finally {
      await trap.close();
    }
  });

  it('refuses, with nothing sent, endpoints that are not https, too long, or loopback/private/link-local by default', async () => {
    const trap = await ConnectionCounter.start('127.0.0.1');
    const sub = service.subscribe(vapid.publicKey);
    const strict = sender({ allowed: [] });
    const port = trap.port;
    const cases: [string, RegExp][] = [
      [`http://127.0.0.1:${port}/push/x`, /https: URL/],
      [`https://127.0.0.1:${port}/push/x`, /loopback/],
      [`https://localhost:${port}/push/x`, /localhost \(.*\) is a loopback/],
      [`https://[::ffff:127.0.0.1]:${port}/push/x`, /loopback/],
      [`https://[::1]:${port}/push/x`, /loopback/],
      [`https://2130706433:${port}/push/x`, /127\.0\.0\.1 is a loopback/],
      [`https://0x7f.1:${port}/push/x`, /127\.0\.0\.1 is a loopback/],
      [`https://10.0.0.1:${port}/push/x`, /private/],
      [`https://169.254.169.254:${port}/push/x`, /link-local/],
      [`https://[fe80::1]:${port}/push/x`, /link-local/],
      [`https://user:pw@push.example/push/x`, /user name/],
      [`https://push.example/${'x'.repeat(1100)}`, /1024/],
    ];
    try {
      for (const [endpoint, reason] of cases) {
        const outcome: PushOutcome = await strict.send({ endpoint, ...sub.keys }, Buffer.from('{}'));
        expect(outcome, endpoint).toMatchObject({ kind: 'refused', reason: expect.stringMatching(reason) });
      }
      await new Promise((r) => setTimeout(r, 100));
      expect(trap.connections).toBe(0);
    } finally {
      await trap.close();
    }
  });

  it('404 and 410 say the subscription is gone; 5xx and 429 (with Retry-After) and a push service that hangs say try later', async () => {
    const sub = service.subscribe(vapid.publicKey);
    const target = { endpoint: sub.endpoint, ...sub.keys };
    service.behave(sub.id, { status: 404 });
    expect(await sender().send(target, Buffer.from('{}'))).toEqual({ kind: 'gone', status: 404 });
    service.behave(sub.id, 'accept');
    service.expire(sub.id);
    expect(await sender().send(target, Buffer.from('{}'))).toEqual({ kind: 'gone', status: 410 });
    const other = service.subscribe(vapid.publicKey);
    const second = { endpoint: other.endpoint, ...other.keys };
    service.behave(other.id, { status: 503 });
    expect(await sender().send(second, Buffer.from('{}'))).toMatchObject({ kind: 'retry', status: 503 });
    service.behave(other.id, { status: 429, retryAfter: 30 });
    expect(await sender().send(second, Buffer.from('{}'))).toMatchObject({ kind: 'retry', status: 429, retryAfterMs: 30_000 });
    service.behave(other.id, { status: 413 });
    expect(await sender().send(second, Buffer.from('{}'))).toMatchObject({ kind: 'rejected', status: 413 });
    service.behave(other.id, 'hang');
    const started = Date.now();
    expect(await sender({}, 500).send(second, Buffer.from('{}'))).toMatchObject({ kind: 'retry', reason: expect.stringContaining('did not answer within 500 ms') });
    expect(Date.now() - started).toBeLessThan(2000);
  });

  describe('the queue', () => {
    let store: ServerStore;
    let notifier: PushNotifier;
    const sub = () => service.subscribe(vapid.publicKey);

    beforeAll(async () => {
      store = await ServerStore.open(':memory:');
      await store.accounts.add({ id: 'alice', desktopAddress: 'alice@example.test' });
      notifier = new PushNotifier(store, sender(), log);
    });
    afterAll(async () => {
      notifier.close();
      await store.close();
    });

    const register = async (s: ReturnType<typeof sub>, show: 'sender' | 'count') => {
      const { device } = await store.devices.add('alice', 'phone');
      return store.push.register({ deviceId: device.id }, { accountId: 'alice', endpoint: s.endpoint, ...s.keys, serverKey: vapid.publicKey, show });
    };
    const deliver = (subject: string) =>
      store.transaction(async () => {
        const id = await store.messages.insert('alice', { folder: 'inbox', raw: Buffer.from(`From: Ann <ann@example.test>\r\nSubject: ${subject}\r\n\r\nbody ${subject}\r\n`), date: Date.now(), seen: false, flagged: false });
        store.events.emit('newMail', 'alice', id);
        return id;
      });

    it('a burst of new mail is one push per subscription, counting all of it; what it shows is the user\'s choice', async () => {
      const full = sub();
      const bare = sub();
      await register(full, 'sender');
      await register(bare, 'count');
      const started = Date.now();
      const ids = [await deliver('one'), await deliver('two'), await deliver('three')];
      await service.waitFor(full.id, 1, 5000);
      await service.waitFor(bare.id, 1, 5000);
      expect(Date.now() - started).toBeLessThan(1000);
      await notifier.idle();
      expect(service.pushesFor(full.id)).toHaveLength(1);
      expect(JSON.parse(service.pushesFor(full.id)[0]!.payload.toString())).toEqual({ type: 'newMail', v: 1, account: 'alice', count: 3, message: ids[2], from: 'Ann', subject: 'three' });
      expect(JSON.parse(service.pushesFor(bare.id)[0]!.payload.toString())).toEqual({ type: 'newMail', v: 1, account: 'alice', count: 3, message: ids[2] });
      // More mail before the user looked: the count goes on; after they looked it starts again.
      await deliver('four');
      await service.waitFor(full.id, 2, 5000);
      expect(JSON.parse(service.pushesFor(full.id)[1]!.payload.toString())).toMatchObject({ count: 4, subject: 'four' });
      await store.engine.run('UPDATE push_subscriptions SET pending = 0');
      await deliver('five');
      await service.waitFor(full.id, 3, 5000);
      expect(JSON.parse(service.pushesFor(full.id)[2]!.payload.toString())).toMatchObject({ count: 1, subject: 'five' });
      // Waiting at the push service for an offline phone, the Topic keeps only the latest of them.
      expect(service.waiting(full.id).map((p) => JSON.parse(p.payload.toString()).subject)).toEqual(['five']);
    });

    it('mail read or trashed before the push goes is not counted; 410 removes the subscription', async () => {
      const gone = sub();
      const row = await register(gone, 'count');
      service.expire(gone.id);
      const id = await deliver('read already');
      await store.messages.setFlag('alice', id, 'seen', true, true);
      await deliver('unread');
      await notifier.idle();
      expect(await store.push.get(row.id)).toBeUndefined();
    });

    it('a push service that fails is tried again later', async () => {
      for (const s of await store.engine.all<{ id: number }>('SELECT id FROM push_subscriptions')) await store.push.remove(s.id);
      const failing = sub();
      const row = await register(failing, 'count');
      service.behave(failing.id, { status: 500 });
      await deliver('retry me');
      await notifier.idle();
      expect((await store.push.get(row.id))?.lastError).toContain('500');
      service.behave(failing.id, 'accept');
      // The first retry comes after PUSH_LIMITS.retryDelaysMs[0].
      await service.waitFor(failing.id, 1, PUSH_LIMITS.retryDelaysMs[0] + 3000);
      await notifier.idle();
      expect((await store.push.get(row.id))?.lastError).toBeNull();
    });
  });
});
