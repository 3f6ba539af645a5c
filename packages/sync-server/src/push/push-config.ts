/**
 * The `push` block of the server's config.json (issue 20; README
 * "Configuration"):
 *
 *   "push": { "subject": "mailto:ops@example.com", "vapidKey": "vapid-key.pem",
 *             "ttlSeconds": 86400, "allowPrivateNetworks": [] }
 *
 * - subject: the VAPID contact (RFC 8292 §2.1), a mailto: or https: URI push
 *   services may use to reach the operator. Push notifications are off until
 *   it is set (init --push-subject sets it).
 * - vapidKey: the VAPID key file, relative to the config (made by init, or at
 *   start when missing).
 * - ttlSeconds: how long a push service keeps a notification for a phone that
 *   is offline (RFC 8030 §5.2), at most 28 days.
 * - allowPrivateNetworks: CIDR ranges of non-public addresses push endpoints
 *   may be in (a push service on the company network; the tests' on
 *   loopback). None by default.
 */
import { resolve } from 'node:path';
import { allowedNetworks } from './endpoint-policy.js';

export const PUSH_DEFAULTS = {
  vapidKey: 'vapid-key.pem',
  /** A day: a notification older than that is no news. */
  ttlSeconds: 24 * 60 * 60,
} as const;

/** The most a push service is asked to keep a notification (28 days, as Mozilla's and Google's services cap it). */
const MAX_TTL_SECONDS = 28 * 24 * 60 * 60;

export interface PushConfig {
  /** VAPID subject; push is off without it. */
  subject?: string;
  /** Absolute path of the VAPID key file. */
  vapidKey: string;
  ttlSeconds: number;
  allowPrivateNetworks: string[];
}

/** A VAPID subject: a mailto: address or an https: URL (RFC 8292 §2.1). */
export function validSubject(subject: string): boolean {
  if (/^mailto:[^\s@]+@[^\s@]+$/.test(subject)) return true;
  try {
    return new URL(subject).protocol === 'https:';
  } catch {
    return false;
  }
}

/** The `push` block, checked; `fail` makes the config error (config.ts: CONFIG). */
export function parsePushConfig(raw: unknown, base: string, fail: (message: string) => Error): PushConfig {
  if (raw !== undefined && (typeof raw !== 'object' || raw === null || Array.isArray(raw))) throw fail('push must be an object');
  const p = (raw ?? {}) as Record<string, unknown>;
  for (const key of Object.keys(p)) if (!['subject', 'vapidKey', 'ttlSeconds', 'allowPrivateNetworks'].includes(key)) throw fail(`push.${key} is not a setting (push has subject, vapidKey, ttlSeconds, allowPrivateNetworks)`);
  if (p.subject !== undefined && !(typeof p.subject === 'string' && validSubject(p.subject))) throw fail('push.subject must be a mailto: address or an https: URL (the contact push services see, RFC 8292)');
  if (p.vapidKey !== undefined && !(typeof p.vapidKey === 'string' && p.vapidKey !== '')) throw fail('push.vapidKey must be a file name');
  const ttl = p.ttlSeconds ?? PUSH_DEFAULTS.ttlSeconds;
  if (!(typeof ttl === 'number' && Number.isSafeInteger(ttl) && ttl >= 0 && ttl <= MAX_TTL_SECONDS)) throw fail(`push.ttlSeconds must be a whole number from 0 to ${MAX_TTL_SECONDS}`);
  const networks = p.allowPrivateNetworks ?? [];
  if (!Array.isArray(networks) || !networks.every((n) => typeof n === 'string')) throw fail('push.allowPrivateNetworks must be a list of CIDR ranges');
  try {
    allowedNetworks(networks as string[]);
  } catch (err) {
    throw fail(`push.allowPrivateNetworks: ${(err as Error).message}`);
  }
  return {
    ...(typeof p.subject === 'string' ? { subject: p.subject } : {}),
    vapidKey: resolve(base, (p.vapidKey as string | undefined) ?? PUSH_DEFAULTS.vapidKey),
    ttlSeconds: ttl,
    allowPrivateNetworks: networks as string[],
  };
}
