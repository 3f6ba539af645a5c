import { describe, expect, it } from 'vitest';
import { TRIGGER_LIFETIME_MS, makeTriggerHeader, verifyTrigger } from './trigger.js';

describe('trigger authenticator', () => {
  const secret = 'tbt_secret';
  const never = () => false;

  it('accepts its own trigger once, for its account, until it expires', () => {
    const { value, claims } = makeTriggerHeader(secret, 'alice', 1_000);
    expect(verifyTrigger(value, secret, 'alice', never, 2_000)).toEqual({ valid: true, claims });
    expect(verifyTrigger(value, secret, 'alice', (n) => n === claims.nonce, 2_000)).toEqual({ valid: false, reason: 'replayed' });
    expect(verifyTrigger(value, secret, 'alice', never, 1_000 + TRIGGER_LIFETIME_MS)).toEqual({ valid: false, reason: 'expired' });
    expect(verifyTrigger(value, secret, 'bob', never, 2_000)).toEqual({ valid: false, reason: 'other-account' });
  });

  it('refuses forgeries: another secret, changed claims, garbage', () => {
    const { value } = makeTriggerHeader(secret, 'alice', 1_000);
    expect(verifyTrigger(value, 'other', 'alice', never, 2_000)).toMatchObject({ reason: 'bad-mac' });
    expect(verifyTrigger(value.replace(/expires=\d+/, 'expires=99999999999999'), secret, 'alice', never, 2_000)).toMatchObject({ reason: 'bad-mac' });
    expect(verifyTrigger(value.replace('account=alice', 'account=bob'), secret, 'bob', never, 2_000)).toMatchObject({ reason: 'bad-mac' });
    for (const junk of ['', 'v1', 'v2; account=a', value.replace(/mac=[0-9a-f]+/, 'mac=zz')]) {
      expect(verifyTrigger(junk, secret, 'alice', never, 2_000)).toMatchObject({ valid: false, reason: 'malformed' });
    }
  });
});
