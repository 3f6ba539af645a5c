/**
 * Web Push in the running server (issue 20): the VAPID key, the sender, the
 * queue, and what the phone API needs — whether push is on, the key browsers
 * subscribe with, and the check of an endpoint a phone registers.
 *
 * Off (`available: false`) until the operator sets `push.subject`. At start,
 * subscriptions made for another VAPID key are dropped (push/vapid.ts).
 */
import type { Logger } from '../log.js';
import type { ServerStore } from '../store/index.js';
import { allowedNetworks, checkEndpointUrl, resolveEndpoint, systemLookup, type EndpointPolicy, type Lookup } from './endpoint-policy.js';
import { PushNotifier, type PushObserver } from './notifier.js';
import type { PushConfig } from './push-config.js';
import { PushSender } from './sender.js';
import { loadVapidKey, makeVapidKey } from './vapid.js';

/** What the phone API asks of push (phone/push-api.ts). */
export interface PushAccess {
  available: boolean;
  /** The applicationServerKey (base64url), when available. */
  publicKey?: string;
  /** Refuse (EndpointRefused, EndpointUnresolved) an endpoint no push may go to: before any request leaves. */
  checkEndpoint(endpoint: unknown): Promise<void>;
}

export interface RunningPush extends PushAccess {
  notifier?: PushNotifier;
  close(): void;
}

export interface PushStartOptions {
  observer?: PushObserver;
  /** Tests: a resolver of their own, trusted CA certificates for a push service. */
  lookup?: Lookup;
  ca?: string | Buffer;
}

export async function startPush(store: ServerStore, config: PushConfig, log: Logger, options: PushStartOptions = {}): Promise<RunningPush> {
  const policy: EndpointPolicy = { allowed: allowedNetworks(config.allowPrivateNetworks), lookup: options.lookup ?? systemLookup };
  const checkEndpoint = async (endpoint: unknown) => void (await resolveEndpoint(checkEndpointUrl(endpoint), policy));
  if (!config.subject) {
    log.info('push notifications are off: set push.subject in the config (a mailto: or https: contact for push services)');
    return { available: false, checkEndpoint, close: () => undefined };
  }
  if (makeVapidKey(config.vapidKey)) log.info('made the VAPID key for push notifications', { file: config.vapidKey });
  const vapid = loadVapidKey(config.vapidKey);
  const dropped = await store.push.removeOtherKeys(vapid.publicKey);
  if (dropped > 0) log.warn('push subscriptions made for another VAPID key removed; the web app subscribes again', { dropped });
  const sender = new PushSender({ vapid: { ...vapid, subject: config.subject }, policy, ttlSeconds: config.ttlSeconds, ...(options.ca ? { ca: options.ca } : {}) });
  const notifier = new PushNotifier(store, sender, log, options.observer);
  return { available: true, publicKey: vapid.publicKey, checkEndpoint, notifier, close: () => notifier.close() };
}
