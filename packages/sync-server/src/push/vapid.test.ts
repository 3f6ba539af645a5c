import { chmodSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { loadVapidKey, makeVapidKey } from './vapid.js';

describe('the VAPID key (issue 20)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'twinbox-vapid-'));
  afterEach(() => rmSync(join(dir, 'k.pem'), { force: true }));

  it('is made 0600 whatever the umask, never over an existing file, and read as web-push takes it', () => {
    const old = process.umask(0o000);
    try {
      expect(makeVapidKey(join(dir, 'k.pem'))).toBe(true);
    } finally {
      process.umask(old);
    }
    expect(statSync(join(dir, 'k.pem')).mode & 0o777).toBe(0o600);
    const first = loadVapidKey(join(dir, 'k.pem'));
    expect(makeVapidKey(join(dir, 'k.pem'))).toBe(false);
    expect(loadVapidKey(join(dir, 'k.pem'))).toEqual(first);
    expect(Buffer.from(first.publicKey, 'base64url')).toHaveLength(65);
    expect(Buffer.from(first.privateKey, 'base64url')).toHaveLength(32);
  });

  it('a looser file is tightened; a file that is no P-256 key is refused', () => {
    makeVapidKey(join(dir, 'k.pem'));
    chmodSync(join(dir, 'k.pem'), 0o644);
    loadVapidKey(join(dir, 'k.pem'));
    expect(statSync(join(dir, 'k.pem')).mode & 0o777).toBe(0o600);
    writeFileSync(join(dir, 'k.pem'), 'not a key');
    expect(() => loadVapidKey(join(dir, 'k.pem'))).toThrow();
  });
});
