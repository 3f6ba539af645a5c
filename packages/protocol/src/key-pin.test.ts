import { execFileSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { KEY_PIN, isKeyPin, keyPinOf, sameCertificateFingerprint, trustOf } from './key-pin.js';

function certificate(dir: string, name: string, key: string): X509Certificate {
  const args = ['req', '-x509', '-key', join(dir, key), '-out', join(dir, name), '-days', '1', '-subj', `/CN=${name}`];
  execFileSync('openssl', args, { stdio: 'ignore' });
  return new X509Certificate(readFileSync(join(dir, name)));
}

describe('key pins', () => {
  const dir = mkdtempSync(join(tmpdir(), 'twinbox-pin-'));
  for (const key of ['a.key', 'b.key']) execFileSync('openssl', ['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', join(dir, key)], { stdio: 'ignore' });
  const first = certificate(dir, 'first.pem', 'a.key');
  const renewed = certificate(dir, 'renewed.pem', 'a.key');
  const newKey = certificate(dir, 'new-key.pem', 'b.key');

  it('is the same for a certificate renewed with the same key, and differs for a new key', () => {
    expect(keyPinOf(first)).toMatch(KEY_PIN);
    expect(isKeyPin(keyPinOf(first))).toBe(true);
    expect(first.fingerprint256).not.toBe(renewed.fingerprint256);
    expect(keyPinOf(renewed)).toBe(keyPinOf(first));
    expect(keyPinOf(newKey)).not.toBe(keyPinOf(first));
  });

  it('is what curl --pinnedpubkey and Chromium take (base64 SHA-256 of the DER public key)', () => {
    const der = execFileSync('sh', ['-c', `openssl x509 -in ${join(dir, 'first.pem')} -pubkey -noout | openssl pkey -pubin -outform der | openssl dgst -sha256 -binary | base64`]).toString().trim();
    expect(keyPinOf(first)).toBe(`sha256//${der}`);
  });

  it('trusts by a pin (the backup one too), by the old whole-certificate fingerprint of that very certificate only', () => {
    expect(trustOf({ pins: [keyPinOf(first)] }, renewed)).toBe('pin');
    expect(trustOf({ pins: ['sha256//' + 'A'.repeat(43) + '=', keyPinOf(newKey)] }, newKey)).toBe('pin');
    expect(trustOf({ pins: [keyPinOf(first)] }, newKey)).toBeUndefined();
    expect(trustOf({ fingerprint: first.fingerprint256.toLowerCase() }, first)).toBe('fingerprint');
    expect(trustOf({ fingerprint: first.fingerprint256 }, renewed)).toBeUndefined();
    expect(sameCertificateFingerprint('', '')).toBe(false);
  });
});
