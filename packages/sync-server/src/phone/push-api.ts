/**
 * The phone API's Web Push routes (issue 20). A browser registers its push
 * subscription with its device session (a program with its device token);
 * each browser has one, removed when it turns notifications off, signs out or
 * its device is revoked.
 *
 *   GET    /api/v1/push                 { available, publicKey, subscribed, show }
 *   POST   /api/v1/push/subscription    { subscription: { endpoint, keys: { p256dh, auth } }, show? } → subscribed
 *   DELETE /api/v1/push/subscription    notifications off for this browser
 *   POST   /api/v1/push/settings        { show: "sender" | "count" }: what notifications show
 *   POST   /api/v1/push/seen            the user has looked: the next notification counts from zero
 *
 * An endpoint no push may go to (push/endpoint-policy.ts: not https:, over
 * 1 KiB, a host that is or resolves to a loopback, private, link-local or
 * other non-public address) is refused with PUSH_ENDPOINT_REFUSED before
 * anything is stored, and no request is ever made to it.
 */
import { createPublicKey } from 'node:crypto';
import type { PushAccess } from '../push/service.js';
import { EndpointRefused, EndpointUnresolved } from '../push/endpoint-policy.js';
import { PUSH_SHOW, type PushHolder, type PushShow, type ServerStore } from '../store/index.js';
import type { Caller } from './device-auth.js';
import { PhoneError } from './errors.js';

/** A P-256 public key as browsers give it: base64url of the 65-byte uncompressed point. */
function p256dhOf(value: unknown): string {
  const bytes = typeof value === 'string' && /^[A-Za-z0-9_-]+={0,2}$/.test(value) ? Buffer.from(value, 'base64url') : undefined;
  const refused = () => new PhoneError('BAD_REQUEST', 'subscription.keys.p256dh must be a P-256 public key (65 bytes, base64url)');
  if (!bytes || bytes.length !== 65 || bytes[0] !== 4) throw refused();
  try {
    // A point on the curve, or no key at all (the notification could not be encrypted for it).
    createPublicKey({ key: { kty: 'EC', crv: 'P-256', x: bytes.subarray(1, 33).toString('base64url'), y: bytes.subarray(33).toString('base64url') }, format: 'jwk' });
  } catch {
    throw refused();
  }
  return bytes.toString('base64url');
}

function authOf(value: unknown): string {
  const bytes = typeof value === 'string' && /^[A-Za-z0-9_-]+={0,2}$/.test(value) ? Buffer.from(value, 'base64url') : undefined;
  if (!bytes || bytes.length !== 16) throw new PhoneError('BAD_REQUEST', 'subscription.keys.auth must be 16 bytes, base64url');
  return bytes.toString('base64url');
}

function showOf(value: unknown, fallback?: PushShow): PushShow {
  if (value === undefined && fallback) return fallback;
  if (!(PUSH_SHOW as readonly unknown[]).includes(value)) throw new PhoneError('BAD_REQUEST', `show must be ${PUSH_SHOW.map((s) => `"${s}"`).join(' or ')}`);
  return value as PushShow;
}

export interface PushRouteContext {
  store: ServerStore;
  push: PushAccess | undefined;
  caller: Caller;
  method: string;
  /** The path below /api/v1/push. */
  parts: string[];
  body(): Promise<unknown>;
  reply(status: number, body: unknown): Promise<void>;
}

/** Handles /api/v1/push…; false when no route matches. */
export async function pushRoute(ctx: PushRouteContext): Promise<boolean> {
  const { store, push, caller, method, parts } = ctx;
  const holder: PushHolder = { deviceId: caller.device.id, ...(caller.session ? { session: caller.session } : {}) };
  const [what] = parts;
  if (method === 'GET' && parts.length === 0) {
    const mine = await store.push.of(holder);
    await ctx.reply(200, { available: push?.available ?? false, publicKey: push?.publicKey ?? null, subscribed: mine !== undefined, show: mine?.show ?? null });
    return true;
  }
  if (parts.length !== 1) return false;
  if (method === 'POST' && what === 'subscription') {
    if (!push?.available || !push.publicKey) throw new PhoneError('PUSH_UNAVAILABLE');
    const body = (await ctx.body()) as { subscription?: { endpoint?: unknown; keys?: { p256dh?: unknown; auth?: unknown } }; show?: unknown };
    const subscription = body.subscription;
    if (typeof subscription !== 'object' || subscription === null) throw new PhoneError('BAD_REQUEST', 'subscription must be the browser\'s PushSubscription (endpoint and keys)');
    try {
      await push.checkEndpoint(subscription.endpoint);
    } catch (err) {
      if (err instanceof EndpointRefused || err instanceof EndpointUnresolved) throw new PhoneError('PUSH_ENDPOINT_REFUSED', `this push endpoint is refused: ${err.message}`);
      throw err;
    }
    const row = await store.push.register(holder, {
      accountId: caller.account.id,
      endpoint: subscription.endpoint as string,
      p256dh: p256dhOf(subscription.keys?.p256dh),
      auth: authOf(subscription.keys?.auth),
      serverKey: push.publicKey,
      show: showOf(body.show, 'count'),
    });
    await ctx.reply(200, { subscribed: true, show: row.show });
    return true;
  }
  if (method === 'DELETE' && what === 'subscription') {
    await store.push.removeOf(holder);
    await ctx.reply(200, { subscribed: false });
    return true;
  }
  if (method === 'POST' && what === 'settings') {
    const show = showOf(((await ctx.body()) as { show?: unknown }).show);
    if (!(await store.push.setShow(holder, show))) throw new PhoneError('NOT_FOUND', 'notifications are off in this browser: turn them on first');
    await ctx.reply(200, { subscribed: true, show });
    return true;
  }
  if (method === 'POST' && what === 'seen') {
    await store.push.seen(holder);
    await ctx.reply(200, { seen: true });
    return true;
  }
  return false;
}
