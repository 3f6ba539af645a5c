/**
 * The magic e-mail that asks the desktop agent for a sync (docs/spec.md §8, patent
 * FIG. 11). It carries, in one header, an authenticator the agent can check:
 *
 *   X-Twinbox-Trigger: v1; account=<id>; nonce=<hex>; expires=<ms>; mac=<hex>
 *
 * mac = HMAC-SHA256(trigger secret shared at pairing, "v1|account|nonce|expires").
 * A trigger is valid only with the right MAC, for this account, before it
 * expires, and once (the agent remembers nonces until they expire).
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

export const TRIGGER_HEADER = 'X-Twinbox-Trigger';
export const TRIGGER_LIFETIME_MS = 10 * 60 * 1000;

export interface TriggerClaims {
  account: string;
  nonce: string;
  expires: number;
}

function mac(secret: string, c: TriggerClaims): string {
  return createHmac('sha256', secret).update(`v1|${c.account}|${c.nonce}|${c.expires}`).digest('hex');
}

export function makeTriggerHeader(secret: string, account: string, now = Date.now()): { value: string; claims: TriggerClaims } {
  const claims = { account, nonce: randomBytes(16).toString('hex'), expires: now + TRIGGER_LIFETIME_MS };
  return { value: `v1; account=${claims.account}; nonce=${claims.nonce}; expires=${claims.expires}; mac=${mac(secret, claims)}`, claims };
}

export type TriggerVerdict = { valid: true; claims: TriggerClaims } | { valid: false; reason: 'malformed' | 'bad-mac' | 'other-account' | 'expired' | 'replayed' };

/** Check a trigger header value; `used(nonce)` says whether a nonce was seen before. */
export function verifyTrigger(value: string, secret: string, account: string, used: (nonce: string) => boolean, now = Date.now()): TriggerVerdict {
  const fields = new Map(
    value
      .split(';')
      .map((p) => p.trim())
      .filter((p) => p.includes('='))
      .map((p) => [p.slice(0, p.indexOf('=')), p.slice(p.indexOf('=') + 1)] as const),
  );
  const [version] = value.split(';');
  const nonce = fields.get('nonce');
  const expires = Number(fields.get('expires'));
  const given = fields.get('mac');
  const claimed = fields.get('account');
  if (version?.trim() !== 'v1' || !nonce || !/^[0-9a-f]{32}$/.test(nonce) || !Number.isSafeInteger(expires) || !given || !/^[0-9a-f]{64}$/.test(given) || !claimed) {
    return { valid: false, reason: 'malformed' };
  }
  const claims = { account: claimed, nonce, expires };
  if (!timingSafeEqual(Buffer.from(mac(secret, claims), 'hex'), Buffer.from(given, 'hex'))) return { valid: false, reason: 'bad-mac' };
  if (claimed !== account) return { valid: false, reason: 'other-account' };
  if (expires <= now) return { valid: false, reason: 'expired' };
  if (used(nonce)) return { valid: false, reason: 'replayed' };
  return { valid: true, claims };
}
