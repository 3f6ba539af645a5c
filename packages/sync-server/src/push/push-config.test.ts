import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { TwinboxError } from '@twinbox/protocol';
import { loadConfig } from '../config.js';

function configWith(push: unknown): string {
  const dir = mkdtempSync(join(tmpdir(), 'twinbox-config-'));
  // The config names key and certificate files, which loadConfig checks exist (issue 19).
  writeFileSync(join(dir, 'k'), '');
  writeFileSync(join(dir, 'c'), '');
  writeFileSync(join(dir, 'config.json'), JSON.stringify({ database: 'db', listen: { port: 1 }, tls: { key: 'k', cert: 'c' }, ...(push === undefined ? {} : { push }) }));
  return join(dir, 'config.json');
}

const refusal = (push: unknown) => {
  try {
    loadConfig(configWith(push));
  } catch (err) {
    expect(err).toBeInstanceOf(TwinboxError);
    expect((err as TwinboxError).code).toBe('CONFIG');
    return (err as Error).message;
  }
  throw new Error('accepted');
};

describe('the push block of the server config (issue 20)', () => {
  it('defaults: off (no subject), the key beside the config, a day of TTL, no private network allowed', () => {
    const path = configWith(undefined);
    expect(loadConfig(path).push).toEqual({ vapidKey: join(path, '..', 'vapid-key.pem'), ttlSeconds: 86400, allowPrivateNetworks: [] });
    expect(loadConfig(configWith({ subject: 'https://twinbox.example.com/contact', allowPrivateNetworks: ['10.0.0.0/8', 'fd00::/8'], ttlSeconds: 0 })).push).toMatchObject({
      subject: 'https://twinbox.example.com/contact',
      allowPrivateNetworks: ['10.0.0.0/8', 'fd00::/8'],
      ttlSeconds: 0,
    });
  });

  it('a wrong subject, TTL, network or key is CONFIG, saying what is wrong', () => {
    expect(refusal({ subject: 'ops@example.com' })).toMatch(/push.subject must be a mailto: address or an https: URL/);
    expect(refusal({ subject: 'http://example.com' })).toMatch(/push.subject/);
    expect(refusal({ ttlSeconds: 29 * 24 * 3600 })).toMatch(/push.ttlSeconds/);
    expect(refusal({ allowPrivateNetworks: ['10.0.0.0/33'] })).toMatch(/push.allowPrivateNetworks: "10.0.0.0\/33" is not/);
    expect(refusal({ allowPrivateNetworks: '10.0.0.0/8' })).toMatch(/push.allowPrivateNetworks must be a list/);
    expect(refusal({ vapidKey: '' })).toMatch(/push.vapidKey/);
    expect(refusal({ subjet: 'mailto:a@b.c' })).toMatch(/push.subjet is not a setting/);
    expect(refusal([])).toMatch(/push must be an object/);
  });
});
