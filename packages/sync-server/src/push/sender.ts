/**
 * One push request (RFC 8030 §5): the notification, encrypted for the
 * subscription (RFC 8291 `aes128gcm`) and signed with the server's VAPID key
 * (RFC 8292), both by the `web-push` library; sent here.
 *
 * The endpoint is checked again before every request (endpoint-policy.ts) and
 * the connection goes to the very address that was checked — never a second
 * lookup of the name, which could answer differently (DNS rebinding). TLS
 * still checks the certificate against the endpoint's host name (SNI). The
 * whole request is given up after PUSH_LIMITS.requestTimeoutMs, and at most
 * PUSH_LIMITS.maxResponseBytes of the answer are read: a push service that
 * hangs or talks forever costs a socket for a while, nothing more.
 *
 * Connections are kept open a while and reused for the next push to the same
 * checked address and host (one agent, few sockets each, closed when idle),
 * and the VAPID token for a push service is signed once and reused until an
 * hour before it expires: a burst to many browsers costs little CPU.
 *
 * The outcome says what to do with the subscription:
 *   delivered  201 (any 2xx)
 *   gone       404/410: the push service no longer knows it — remove it
 *   refused    its endpoint fails the policy now — remove it, nothing was sent
 *   retry      5xx, 429, a timeout, a lost connection, a failed lookup — try again later
 *   rejected   any other answer (400, 401, 403, 413 …): our request was refused — log it
 */
import { Agent, request } from 'node:https';
import { isIP } from 'node:net';
import webpush from 'web-push';
import { checkEndpointUrl, EndpointRefused, EndpointUnresolved, hostOf, resolveEndpoint, type EndpointPolicy } from './endpoint-policy.js';
import { PUSH_LIMITS } from './limits.js';
import type { VapidKeys } from './vapid.js';

export interface PushTarget {
  endpoint: string;
  p256dh: string;
  auth: string;
}

export type PushOutcome =
  | { kind: 'delivered'; status: number }
  | { kind: 'gone'; status: number }
  | { kind: 'refused'; reason: string }
  | { kind: 'retry'; reason: string; status?: number; retryAfterMs?: number }
  | { kind: 'rejected'; reason: string; status?: number };

export interface PushSenderOptions {
  vapid: VapidKeys & { subject: string };
  policy: EndpointPolicy;
  /** How long the push service keeps an undelivered notification (TTL, RFC 8030 §5.2). */
  ttlSeconds: number;
  /** Extra trusted CA certificates for push services (tests; an operator uses NODE_EXTRA_CA_CERTS). */
  ca?: string | Buffer;
  requestTimeoutMs?: number;
}

/** Retry-After in seconds or as a date (RFC 9110 §10.2.3), in ms from now, capped. */
function retryAfterMs(value: string | string[] | undefined): number | undefined {
  if (typeof value !== 'string') return undefined;
  const ms = /^\d+$/.test(value.trim()) ? Number(value.trim()) * 1000 : Date.parse(value) - Date.now();
  return Number.isFinite(ms) && ms > 0 ? Math.min(ms, PUSH_LIMITS.maxRetryAfterMs) : undefined;
}

function outcomeOf(status: number, headers: Record<string, string | string[] | undefined>, body: string): PushOutcome {
  if (status >= 200 && status < 300) return { kind: 'delivered', status };
  const reason = `the push service answered ${status}${body ? `: ${body.slice(0, 200)}` : ''}`;
  if (status === 404 || status === 410) return { kind: 'gone', status };
  const after = retryAfterMs(headers['retry-after']);
  if (status === 429 || status >= 500) return { kind: 'retry', reason, status, ...(after === undefined ? {} : { retryAfterMs: after }) };
  return { kind: 'rejected', reason, status };
}

/** A VAPID token lives this long (RFC 8292 allows 24 h); it is reused until REFRESH before it expires. */
const VAPID_LIFETIME_S = 12 * 3600;
const VAPID_REFRESH_S = 3600;
const MAX_CACHED_AUDIENCES = 256;

export class PushSender {
  private readonly agent: Agent;
  /** Signed VAPID Authorization headers by audience (a push service's origin). */
  private readonly tokens = new Map<string, { authorization: string; expires: number }>();

  constructor(private readonly options: PushSenderOptions) {
    this.agent = new Agent({ keepAlive: true, maxSockets: 4, maxFreeSockets: 2, maxTotalSockets: 32, timeout: 30_000, ...(options.ca ? { ca: options.ca } : {}) });
  }

  /** The Authorization header for a push service (RFC 8292 §3: `vapid t=JWT, k=public key`), signed once per audience. */
  private authorization(url: URL): string {
    const audience = url.origin;
    const now = Math.floor(Date.now() / 1000);
    const cached = this.tokens.get(audience);
    if (cached && cached.expires - now > VAPID_REFRESH_S) return cached.authorization;
    const { subject, publicKey, privateKey } = this.options.vapid;
    const expires = now + VAPID_LIFETIME_S;
    const authorization = webpush.getVapidHeaders(audience, subject, publicKey, privateKey, 'aes128gcm', expires).Authorization;
    if (this.tokens.size >= MAX_CACHED_AUDIENCES) this.tokens.clear();
    this.tokens.set(audience, { authorization, expires });
    return authorization;
  }

  /** Close the kept connections. */
  close(): void {
    this.agent.destroy();
  }

  async send(target: PushTarget, payload: Buffer): Promise<PushOutcome> {
    let url: URL;
    let address: { address: string; family: 4 | 6 };
    try {
      url = checkEndpointUrl(target.endpoint);
      address = await resolveEndpoint(url, this.options.policy);
    } catch (err) {
      if (err instanceof EndpointRefused) return { kind: 'refused', reason: err.message };
      if (err instanceof EndpointUnresolved) return { kind: 'retry', reason: err.message };
      throw err;
    }
    let details: ReturnType<typeof webpush.generateRequestDetails>;
    try {
      details = webpush.generateRequestDetails({ endpoint: target.endpoint, keys: { p256dh: target.p256dh, auth: target.auth } }, payload, {
        // No vapidDetails: the VAPID header is ours (cached); web-push encrypts and sets the rest.
        headers: { Authorization: this.authorization(url) },
        TTL: this.options.ttlSeconds,
        urgency: PUSH_LIMITS.urgency,
        topic: PUSH_LIMITS.topic,
        contentEncoding: 'aes128gcm',
      });
    } catch (err) {
      // Keys web-push cannot encrypt for (checked at registration, so only a row from elsewhere).
      return { kind: 'rejected', reason: `cannot encrypt for this subscription: ${(err as Error).message}` };
    }
    return this.post(url, address, details.headers as Record<string, string | number>, details.body ?? Buffer.alloc(0));
  }

  /** POST to the checked address; the URL's host names the TLS server and the Host header. */
  private post(url: URL, to: { address: string; family: 4 | 6 }, headers: Record<string, string | number>, body: Buffer): Promise<PushOutcome> {
    const host = hostOf(url);
    const timeoutMs = this.options.requestTimeoutMs ?? PUSH_LIMITS.requestTimeoutMs;
    return new Promise((resolve) => {
      let settled = false;
      const finish = (outcome: PushOutcome) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        resolve(outcome);
      };
      const req = request(
        {
          host: to.address,
          family: to.family,
          port: url.port === '' ? 443 : Number(url.port),
          path: `${url.pathname}${url.search}`,
          method: 'POST',
          headers: { ...headers, host: url.host },
          // The certificate must be the endpoint host's; SNI only for a name (RFC 6066 forbids an address there).
          ...(isIP(host) ? {} : { servername: host }),
          ...(this.options.ca ? { ca: this.options.ca } : {}),
          agent: this.agent,
          minVersion: 'TLSv1.2',
        },
        (res) => {
          const chunks: Buffer[] = [];
          let size = 0;
          res.on('data', (chunk: Buffer) => {
            if (size >= PUSH_LIMITS.maxResponseBytes) return;
            size += chunk.length;
            chunks.push(chunk);
            if (size >= PUSH_LIMITS.maxResponseBytes) res.destroy();
          });
          const done = () => finish(outcomeOf(res.statusCode ?? 0, res.headers, Buffer.concat(chunks).toString('utf8').trim()));
          res.once('end', done);
          res.once('close', done);
          res.once('error', done);
        },
      );
      const timer = setTimeout(() => {
        req.destroy();
        finish({ kind: 'retry', reason: `the push service did not answer within ${timeoutMs} ms` });
      }, timeoutMs);
      req.once('error', (err: NodeJS.ErrnoException) => finish({ kind: 'retry', reason: `cannot reach the push service: ${err.code ?? err.message}` }));
      req.end(body);
    });
  }
}
