import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { LIMITS, TwinboxError } from '@twinbox/protocol';
import { PHONE_DEFAULTS, loadConfig, redactUrl, storeDescription } from './config.js';
import { SERVER_CONFIG_SCHEMA } from './config-schema.js';

/** A config file with `fields` besides the keys every config needs (no store: the caller says). */
function configOf(fields: Record<string, unknown>): string {
  const dir = mkdtempSync(join(tmpdir(), 'twinbox-config-'));
  // The files a config names must exist (their content is read only by `start`).
  for (const file of ['k', 'c']) writeFileSync(join(dir, file), '');
  const path = join(dir, 'config.json');
  writeFileSync(path, JSON.stringify({ listen: { port: 1 }, tls: { key: 'k', cert: 'c' }, ...fields }));
  return path;
}

function configWith(smtp: unknown, more: Record<string, unknown> = {}): string {
  return configOf({ database: 'db', smtp, ...more });
}

function configError(path: string, env: NodeJS.ProcessEnv = process.env): unknown {
  try {
    loadConfig(path, env);
  } catch (err) {
    return err;
  }
  return undefined;
}

/** The CONFIG error's message for a config that must be refused. */
function refused(path: string, env: NodeJS.ProcessEnv = {}): string {
  const err = configError(path, env);
  expect(err).toBeInstanceOf(TwinboxError);
  expect((err as TwinboxError).code).toBe('CONFIG');
  return (err as TwinboxError).message;
}

const PG_URL = 'postgres://twinbox:s3cret@db.example.com:5432/twinbox';

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

  describe('store', () => {
    const noEnv = {};

    it('database (the older form, what init writes) is a SQLite file beside the config', () => {
      const path = configWith(undefined);
      expect(loadConfig(path, noEnv).store).toEqual({ kind: 'sqlite', path: join(dirname(path), 'db') });
    });

    it('a sqlite block: its path relative to the config, its folder checked', () => {
      const path = configOf({ store: { kind: 'sqlite', path: 'data/twinbox.db' } });
      expect(refused(path)).toContain(`store.path needs the folder ${join(dirname(path), 'data')}, which does not exist`);
      mkdirSync(join(dirname(path), 'data'));
      expect(loadConfig(path, noEnv).store).toEqual({ kind: 'sqlite', path: join(dirname(path), 'data', 'twinbox.db') });
    });

    it('a postgres block: its URL and pool size as they are; a wrong one refused without showing the URL', () => {
      expect(loadConfig(configOf({ store: { kind: 'postgres', url: PG_URL, poolSize: 20 } }), noEnv).store).toEqual({ kind: 'postgres', url: PG_URL, poolSize: 20 });
      expect(loadConfig(configOf({ store: { kind: 'postgres', url: PG_URL } }), noEnv).store).toEqual({ kind: 'postgres', url: PG_URL });
      expect(loadConfig(configOf({ store: { kind: 'postgres', url: PG_URL, preparedStatements: false } }), noEnv).store).toEqual({ kind: 'postgres', url: PG_URL, preparedStatements: false });
      const wrong = refused(configOf({ store: { kind: 'postgres', url: 'mysql://twinbox:s3cret@db/twinbox', poolSize: 0 } }));
      expect(wrong).toMatch(/store.url must be a postgres:\/\/ URL/);
      expect(wrong).toMatch(/store.poolSize must be a positive whole number/);
      expect(wrong).not.toContain('s3cret');
      expect(refused(configOf({ store: { kind: 'mysql' } }))).toContain('store.kind must be "sqlite" or "postgres", not "mysql"');
      expect(refused(configOf({ store: { kind: 'postgres', url: PG_URL, poolsize: 2 } }))).toContain('store.poolsize is not a setting (did you mean store.poolSize?)');
    });

    it('a URL where a file belongs, or where a block belongs, is refused with its password masked', () => {
      const asFile = refused(configOf({ database: PG_URL }));
      expect(asFile).toContain('database is a SQLite file; a PostgreSQL database goes in store');
      expect(asFile).not.toContain('s3cret');
      const asText = refused(configOf({ store: PG_URL }));
      expect(asText).toContain('store must be an object');
      expect(asText).toContain('postgres://twinbox:***'); // cut short (…): masked from the colon on
      expect(asText).not.toContain('s3cret');
    });

    it('DATABASE_URL overrides the file (twelve-factor), and must be a postgres:// URL', () => {
      const env = { DATABASE_URL: PG_URL };
      expect(loadConfig(configWith(undefined), env).store).toEqual({ kind: 'postgres', url: PG_URL });
      expect(loadConfig(configOf({ store: { kind: 'postgres', url: 'postgres://other/db' } }), env).store).toEqual({ kind: 'postgres', url: PG_URL });
      expect(loadConfig(configOf({}), env).store).toEqual({ kind: 'postgres', url: PG_URL });
      // Set but empty: as if unset.
      expect(loadConfig(configWith(undefined), { DATABASE_URL: '' }).store.kind).toBe('sqlite');
      const wrong = refused(configWith(undefined), { DATABASE_URL: 'mysql://twinbox:s3cret@db/twinbox' });
      expect(wrong).toContain('the environment variable DATABASE_URL must be a postgres:// URL');
      expect(wrong).not.toContain('s3cret');
    });

    it('both database and store is a mistake; neither (and no DATABASE_URL) names both', () => {
      expect(refused(configWith(undefined, { store: { kind: 'sqlite', path: 'db' } }))).toContain('database and store both say where the database is: give one');
      expect(refused(configOf({}))).toContain('store is missing (or database, a SQLite file; or the environment variable DATABASE_URL)');
    });

    it('a URL as logs and errors show it: the password masked, the rest as it is', () => {
      expect(redactUrl(PG_URL)).toBe('postgres://twinbox:***@db.example.com:5432/twinbox');
      expect(redactUrl('postgresql://twinbox:p@ss/w:rd@db/twinbox?sslmode=require')).toBe('postgresql://twinbox:***@db/twinbox?sslmode=require');
      expect(redactUrl('postgres://db.example.com:5432/twinbox?user=twinbox&password=s3cret')).toBe('postgres://db.example.com:5432/twinbox?user=twinbox&password=***');
      expect(redactUrl('postgres://twinbox@db:5432/twinbox')).toBe('postgres://twinbox@db:5432/twinbox');
      expect(redactUrl('store must be an object, not "postgres://twinbox:s3cretpassw…')).toBe('store must be an object, not "postgres://twinbox:***…');
      expect(storeDescription({ kind: 'postgres', url: PG_URL, poolSize: 5 })).toBe('postgres postgres://twinbox:***@db.example.com:5432/twinbox');
      expect(storeDescription({ kind: 'sqlite', path: '/srv/twinbox/twinbox.db' })).toBe('sqlite /srv/twinbox/twinbox.db');
    });
  });
});

describe('the multi-node example (deploy/multi-node)', () => {
  it("is a config this server takes: the shared store, the node's name", () => {
    const example = JSON.parse(readFileSync(new URL('../../../deploy/multi-node/config.node-a.json', import.meta.url), 'utf8')) as unknown;
    const parsed = SERVER_CONFIG_SCHEMA.safeParse(example);
    expect(parsed.success, JSON.stringify(parsed.error?.issues)).toBe(true);
    expect(parsed.data).toMatchObject({ store: { kind: 'postgres' }, cluster: { nodeName: 'node-a' } });
  });
});
