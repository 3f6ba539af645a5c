import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { LIMITS } from '@twinbox/protocol';
import { loadConfig } from './config.js';

function configWith(smtp: unknown): string {
  const path = join(mkdtempSync(join(tmpdir(), 'twinbox-config-')), 'config.json');
  writeFileSync(path, JSON.stringify({ database: 'db', listen: { port: 1 }, tls: { key: 'k', cert: 'c' }, smtp }));
  return path;
}

describe('server config', () => {
  it('refuses an inbound limit above what one sync frame carries (such mail could never reach the desktop)', () => {
    expect(() => loadConfig(configWith({ port: 25, maxMessageBytes: LIMITS.maxMessageBytes + 1 }))).toThrow(/smtp.maxMessageBytes must be a whole number of bytes from 1 to 62914560/);
    expect(() => loadConfig(configWith({ port: 25, maxMessageBytes: '50MB' }))).toThrow(/smtp.maxMessageBytes/);
    expect(loadConfig(configWith({ port: 25, maxMessageBytes: LIMITS.maxMessageBytes })).smtp?.maxMessageBytes).toBe(LIMITS.maxMessageBytes);
  });
});
