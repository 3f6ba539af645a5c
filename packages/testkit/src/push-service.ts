/**
 * A push service on loopback that does what RFC 8030 says a push service does
 * (issue 20), so Web Push is tested without the internet. Written from the
 * RFCs with node:crypto alone — not with web-push or http_ece, which the
 * server sends with: an independent check.
 *
 * - Subscriptions (what a browser's push service hands it): an HTTPS endpoint
 *   on this service, a P-256 key pair and a 16-byte auth secret, restricted to
 *   one applicationServerKey (RFC 8292 §4).
 * - A push (RFC 8030 §5) is accepted with 201 and a Location only if: POST;
 *   TTL present (400); Urgency, if any, one of very-low|low|normal|high (400);
 *   Topic, if any, at most 32 base64url characters (400); Content-Encoding
 *   aes128gcm (415); at most 4,096 bytes (413); `Authorization: vapid t=…,
 *   k=…` (401) whose k is the subscription's applicationServerKey (403) and
 *   whose JWT is ES256-signed by that key, with `aud` the endpoint's origin,
 *   `exp` in the future and within 24 hours, and a mailto:/https: `sub` (403,
 *   RFC 8292 §2); and the body decrypts with the subscription's keys (RFC 8291,
 *   400). Unknown subscriptions get 404, expired ones 410.
 * - Delivery to the user agent (the phone) is modelled: accepted pushes wait
 *   until `deliver()`, a newer push with the same Topic replaces a waiting one
 *   (RFC 8030 §5.4), and one whose TTL ran out is dropped (§5.2); TTL 0 is
 *   dropped at once unless the user agent is connected.
 * - A test may make a subscription's endpoint hang or answer a status.
 */
import { createECDH, createHmac, createDecipheriv, createPublicKey, randomBytes, randomUUID, verify } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createServer as createTcpServer, type AddressInfo, type Server as TcpServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { makeSelfSignedCertificate } from '@twinbox/sync-server';

export interface TestSubscription {
  endpoint: string;
  keys: { p256dh: string; auth: string };
}

/** One push the service accepted, decrypted. */
export interface ReceivedPush {
  id: string;
  subscription: string;
  at: number;
  ttl: number;
  urgency: string;
  topic: string | undefined;
  /** The decrypted payload. */
  payload: Buffer;
  /** The VAPID JWT's claims. */
  claims: { aud: string; exp: number; sub: string };
  /** Bytes on the wire (the encrypted body). */
  size: number;
}

export type PushBehaviour = 'accept' | 'hang' | { status: number; retryAfter?: number };

interface Sub {
  id: string;
  ecdh: ReturnType<typeof createECDH>;
  auth: Buffer;
  applicationServerKey: Buffer;
  expired: boolean;
  behaviour: PushBehaviour;
  waiting: ReceivedPush[];
}

const b64u = (b: Buffer) => b.toString('base64url');
const hmac = (key: Buffer, data: Buffer) => createHmac('sha256', key).update(data).digest();

/** RFC 8291 §3.4 and RFC 8188 §2: one aes128gcm message, decrypted with the user agent's keys. */
export function decryptAes128gcm(body: Buffer, uaPrivate: ReturnType<typeof createECDH>, authSecret: Buffer): Buffer {
  if (body.length < 21) throw new Error('body shorter than the aes128gcm header');
  const salt = body.subarray(0, 16);
  const rs = body.readUInt32BE(16);
  const idlen = body[20]!;
  const asPublic = body.subarray(21, 21 + idlen);
  if (idlen !== 65 || asPublic[0] !== 4) throw new Error('keyid is not the application server\'s P-256 public key');
  const records = body.subarray(21 + idlen);
  if (rs < 18 || records.length > rs) throw new Error('a push message must be one record');
  const uaPublic = uaPrivate.getPublicKey();
  const ecdhSecret = uaPrivate.computeSecret(asPublic);
  const prkKey = hmac(authSecret, ecdhSecret);
  const keyInfo = Buffer.concat([Buffer.from('WebPush: info\0'), uaPublic, asPublic]);
  const ikm = hmac(prkKey, Buffer.concat([keyInfo, Buffer.from([1])]));
  const prk = hmac(salt, ikm);
  const cek = hmac(prk, Buffer.from('Content-Encoding: aes128gcm\0\x01')).subarray(0, 16);
  const nonce = hmac(prk, Buffer.from('Content-Encoding: nonce\0\x01')).subarray(0, 12);
  const decipher = createDecipheriv('aes-128-gcm', cek, nonce);
  decipher.setAuthTag(records.subarray(records.length - 16));
  const padded = Buffer.concat([decipher.update(records.subarray(0, records.length - 16)), decipher.final()]);
  // The last record ends with 0x02 and any zero padding (RFC 8188 §2).
  let end = padded.length - 1;
  while (end >= 0 && padded[end] === 0) end--;
  if (end < 0 || padded[end] !== 2) throw new Error('bad padding delimiter');
  return padded.subarray(0, end);
}

class Refusal extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

/** RFC 8292 §2–3: the JWT's signature by k, and its claims. */
function checkVapid(authorization: string | undefined, sub: Sub, origin: string): ReceivedPush['claims'] {
  const match = /^vapid\s+(.+)$/i.exec(authorization ?? '');
  if (!match) throw new Refusal(401, 'no VAPID Authorization (vapid t=…, k=…)');
  const params = Object.fromEntries(match[1]!.split(',').map((p) => p.trim().split('=').map((x) => x.trim()) as [string, string]));
  const token = params.t;
  const key = params.k ? Buffer.from(params.k, 'base64url') : undefined;
  if (!token || !key) throw new Refusal(401, 'the VAPID Authorization needs t and k');
  if (!key.equals(sub.applicationServerKey)) throw new Refusal(403, 'k is not the applicationServerKey this subscription is restricted to');
  const [head, body, signature] = token.split('.');
  if (!head || !body || !signature) throw new Refusal(403, 'the VAPID token is not a JWT');
  const header = JSON.parse(Buffer.from(head, 'base64url').toString()) as { alg?: string; typ?: string };
  if (header.alg !== 'ES256') throw new Refusal(403, `the VAPID JWT must be ES256, not ${header.alg}`);
  const publicKey = createPublicKey({ key: { kty: 'EC', crv: 'P-256', x: b64u(key.subarray(1, 33)), y: b64u(key.subarray(33)) }, format: 'jwk' });
  const signed = verify('sha256', Buffer.from(`${head}.${body}`), { key: publicKey, dsaEncoding: 'ieee-p1363' }, Buffer.from(signature, 'base64url'));
  if (!signed) throw new Refusal(403, 'the VAPID JWT signature does not verify with k');
  const claims = JSON.parse(Buffer.from(body, 'base64url').toString()) as Partial<ReceivedPush['claims']>;
  const now = Date.now() / 1000;
  if (claims.aud !== origin) throw new Refusal(403, `the JWT's aud is ${claims.aud}, not the push resource's origin ${origin}`);
  if (typeof claims.exp !== 'number' || claims.exp <= now || claims.exp > now + 24 * 3600) throw new Refusal(403, 'the JWT\'s exp must be in the future and at most 24 hours away');
  if (typeof claims.sub !== 'string' || !/^(mailto:|https:)/.test(claims.sub)) throw new Refusal(403, 'the JWT\'s sub must be a mailto: or https: contact');
  return claims as ReceivedPush['claims'];
}

export class TestPushService {
  private readonly subs = new Map<string, Sub>();
  /** Every accepted push, in order. */
  readonly received: ReceivedPush[] = [];
  /** Every refused request with its status and why (a test of good pushes expects none). */
  readonly refusals: { status: number; reason: string }[] = [];
  /** Requests that reached the service at all. */
  requests = 0;
  /** Is the user agent connected (TTL 0 pushes are delivered only then)? */
  connected = false;
  private readonly waiters: (() => void)[] = [];
  private readonly sockets = new Set<Socket>();

  private constructor(
    private readonly server: Server,
    readonly origin: string,
    /** The service's certificate (PEM), for the server to trust (NODE_EXTRA_CA_CERTS or `ca`). */
    readonly certPath: string,
    private readonly dir: string,
  ) {}

  /** Start on `host` (default 127.0.0.1); `name` is the host its endpoints carry (its certificate is for it and the address). */
  static async start(options: { host?: string; name?: string } = {}): Promise<TestPushService> {
    const host = options.host ?? '127.0.0.1';
    const dir = mkdtempSync(join(tmpdir(), 'twinbox-push-'));
    const key = join(dir, 'key.pem');
    const cert = join(dir, 'cert.pem');
    makeSelfSignedCertificate(key, cert, [...new Set([options.name ?? host, host, 'localhost', 'push.test'])]);
    const server = createServer({ key: readFileSync(key), cert: readFileSync(cert) });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, host, () => resolve());
    });
    const port = (server.address() as AddressInfo).port;
    const name = options.name ?? (host.includes(':') ? `[${host}]` : host);
    const service = new TestPushService(server, `https://${name}:${port}`, cert, dir);
    server.on('request', (req: IncomingMessage, res: ServerResponse) => service.handle(req, res));
    server.on('connection', (socket: Socket) => {
      service.sockets.add(socket);
      socket.once('close', () => service.sockets.delete(socket));
    });
    return service;
  }

  /** A browser subscribing with this applicationServerKey (base64url). */
  subscribe(applicationServerKey: string): TestSubscription & { id: string } {
    const ecdh = createECDH('prime256v1');
    ecdh.generateKeys();
    const id = randomBytes(24).toString('base64url');
    const auth = randomBytes(16);
    this.subs.set(id, { id, ecdh, auth, applicationServerKey: Buffer.from(applicationServerKey, 'base64url'), expired: false, behaviour: 'accept', waiting: [] });
    return { id, endpoint: `${this.origin}/push/${id}`, keys: { p256dh: b64u(ecdh.getPublicKey()), auth: b64u(auth) } };
  }

  /** How the endpoint of `id` (or every endpoint: '*') answers from now on. */
  behave(id: string, behaviour: PushBehaviour): void {
    for (const sub of id === '*' ? this.subs.values() : [this.subs.get(id)!]) sub.behaviour = behaviour;
  }

  /** The user unsubscribed (or the browser dropped it): its endpoint answers 410 from now on. */
  expire(id: string): void {
    this.subs.get(id)!.expired = true;
  }

  /** Accepted pushes for a subscription, decrypted, in order. */
  pushesFor(id: string): ReceivedPush[] {
    return this.received.filter((p) => p.subscription === id);
  }

  /** What waits for the user agent now (a Topic kept once, the latest; expired TTLs gone). */
  waiting(id: string): ReceivedPush[] {
    const sub = this.subs.get(id)!;
    sub.waiting = sub.waiting.filter((p) => p.at + p.ttl * 1000 > Date.now());
    return [...sub.waiting];
  }

  /** The user agent connects: it takes what waits. */
  deliver(id: string): ReceivedPush[] {
    const taken = this.waiting(id);
    this.subs.get(id)!.waiting = [];
    return taken;
  }

  /** Resolves when `count` pushes for `id` have been accepted (rejects after `timeoutMs`). */
  async waitFor(id: string, count = 1, timeoutMs = 10_000): Promise<ReceivedPush[]> {
    const deadline = Date.now() + timeoutMs;
    while (this.pushesFor(id).length < count) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`the push service received ${this.pushesFor(id).length} of ${count} pushes within ${timeoutMs} ms (refused: ${JSON.stringify(this.refusals)})`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
    return this.pushesFor(id);
  }

  private refuse(res: ServerResponse, status: number, reason: string): void {
    this.refusals.push({ status, reason });
    res.writeHead(status, { 'content-type': 'text/plain' }).end(reason);
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    this.requests++;
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size <= 8192) chunks.push(c);
    });
    req.on('end', () => {
      try {
        this.accept(req, res, Buffer.concat(chunks), size);
      } catch (err) {
        if (err instanceof Refusal) return this.refuse(res, err.status, err.message);
        this.refuse(res, 400, `cannot decrypt the push: ${(err as Error).message}`);
      }
    });
  }

  private accept(req: IncomingMessage, res: ServerResponse, body: Buffer, size: number): void {
    const path = /^\/push\/([\w-]+)$/.exec(req.url ?? '');
    const sub = path ? this.subs.get(path[1]!) : undefined;
    if (req.method !== 'POST') throw new Refusal(405, 'push with POST');
    if (!sub) throw new Refusal(404, 'no such subscription');
    if (sub.expired) throw new Refusal(410, 'the subscription has expired');
    if (sub.behaviour === 'hang') return; // never answers: the sender must give up by itself
    if (typeof sub.behaviour === 'object') {
      if (sub.behaviour.retryAfter !== undefined) res.setHeader('retry-after', String(sub.behaviour.retryAfter));
      throw new Refusal(sub.behaviour.status, 'as the test asked');
    }
    const ttlText = req.headers.ttl;
    if (typeof ttlText !== 'string' || !/^\d+$/.test(ttlText)) throw new Refusal(400, 'TTL is required (RFC 8030 §5.2)');
    const urgency = req.headers.urgency ?? 'normal';
    if (typeof urgency !== 'string' || !['very-low', 'low', 'normal', 'high'].includes(urgency)) throw new Refusal(400, `bad Urgency ${String(urgency)}`);
    const topic = req.headers.topic;
    if (topic !== undefined && (typeof topic !== 'string' || !/^[A-Za-z0-9_-]{1,32}$/.test(topic))) throw new Refusal(400, 'a Topic is at most 32 base64url characters (RFC 8030 §5.4)');
    if (req.headers['content-encoding'] !== 'aes128gcm') throw new Refusal(415, 'Content-Encoding must be aes128gcm (RFC 8291)');
    if (size > 4096) throw new Refusal(413, 'a push message is at most 4096 bytes here');
    // Our origin as the request addressed us (an endpoint may name us by a host name or an address).
    const claims = checkVapid(req.headers.authorization, sub, `https://${req.headers.host ?? ''}`);
    const payload = decryptAes128gcm(body, sub.ecdh, sub.auth);
    const push: ReceivedPush = { id: randomUUID(), subscription: sub.id, at: Date.now(), ttl: Number(ttlText), urgency, topic, payload, claims, size };
    this.received.push(push);
    // Waiting for the user agent: a newer push with the same Topic replaces the waiting one; TTL 0 only while connected.
    if (push.ttl > 0 || this.connected) sub.waiting = [...sub.waiting.filter((w) => topic === undefined || w.topic !== topic), push];
    res.writeHead(201, { location: `/message/${push.id}` }).end();
    for (const wake of this.waiters.splice(0)) wake();
  }

  async close(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/**
 * A TCP listener that only counts who connects: put where a refused push
 * endpoint points, it proves no request left the server for it.
 */
export class ConnectionCounter {
  private constructor(
    private readonly server: TcpServer,
    readonly host: string,
    readonly port: number,
    private readonly count: () => number,
  ) {}

  /** Connections made to it so far. */
  get connections(): number {
    return this.count();
  }

  static async start(host: string, port = 0): Promise<ConnectionCounter> {
    let connections = 0;
    const server = createTcpServer((socket) => {
      connections++;
      socket.destroy();
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => resolve());
    });
    const counter = new ConnectionCounter(server, host, (server.address() as AddressInfo).port, () => connections);
    return counter;
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}
