import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { LIMITS, TwinboxError } from '@twinbox/protocol';
import { PHONE_DEFAULTS, loadConfig } from './config.js';

function configWith(smtp: unknown, more: Record<string, unknown> = {}): string {
  const dir = mkdtempSync(join(tmpdir(), 'twinbox-config-'));
  // The files a config names must exist (their content is read only by `start`).
  for (const file of ['k', 'c']) writeFileSync(join(dir, file), '');
  const path = join(dir, 'config.json');
  writeFileSync(path, JSON.stringify({ database: 'db', listen: { port: 1 }, tls: { key: 'k', cert: 'c' }, smtp, ...more }));
  return path;
}

function configError(path: string): unknown {
  try {
    loadConfig(path);
  } catch (err) {
    return err;
  }
  return undefined;
}

describe('server config', () => {
  it('refuses an inbound limit above what one sync frame carries (such mail could never reach the desktop)', () => {
    expect(() => loadConfig(configWith({ port: 25, maxMessageBytes: LIMITS.maxMessageBytes + 1 }))).toThrow(/smtp.maxMessageBytes must be a whole number of bytes from 1 to 62914560/);
    expect(() => loadConfig(configWith({ port: 25, maxMessageBytes: '50MB' }))).toThrow(/smtp.maxMessageBytes/);
    expect(loadConfig(configWith({ port: 25, maxMessageBytes: LIMITS.maxMessageBytes })).smtp?.maxMessageBytes).toBe(LIMITS.maxMessageBytes);
  });

  it('phone limits: defaults, a value of its own, and a wrong one refused as CONFIG (the agent\'s code for it)', () => {
    expect(loadConfig(configWith(undefined)).phone).toEqual(PHONE_DEFAULTS);
    expect(loadConfig(configWith(undefined, { phone: { syncNowEmailIntervalSeconds: 5 } })).phone).toEqual({ ...PHONE_DEFAULTS, syncNowEmailIntervalSeconds: 5 });
    const err = configError(configWith(undefined, { phone: { maxEventStreamsPerDevice: -1 } }));
    expect(err).toBeInstanceOf(TwinboxError);
    expect([(err as TwinboxError).code, (err as TwinboxError).retryable]).toEqual(['CONFIG', false]);
    expect((configError(configWith(undefined, { relay: { host: 'h', port: 1, security: 'ssl' } })) as TwinboxError).code).toBe('CONFIG');
    expect((configError('/nonexistent/config.json') as TwinboxError).code).toBe('CONFIG');
  });
});
