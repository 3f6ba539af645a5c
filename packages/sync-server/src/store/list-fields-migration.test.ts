/**
 * Schema 9 (issue 18): a database written by an older server holds Subject
 * and From as raw header text (`=?UTF-8?B?…?=`) and previews from the old
 * derivation; after the upgrade every stored message is listed decoded.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { PhoneMailbox } from '../phone/phone-mailbox.js';
import { ServerStore } from './index.js';
import { MIGRATIONS } from './schema.js';
import type { SqliteEngine } from './sqlite-engine.js';

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

describe('schema 9: list fields derived again', () => {
  it('an older database lists its messages decoded after the upgrade, nothing else changed', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'twinbox-migration-'));
    dirs.push(dir);
    const path = join(dir, 'twinbox.db');
    const old = await ServerStore.open(path);
    await old.accounts.add({ id: 'a', desktopAddress: 'a@x', window: 3 });
    const raw = Buffer.from('From: =?UTF-8?Q?J=C3=B6rg?= <j@x>\r\nSubject: =?UTF-8?B?R3LDvMOfZQ==?=\r\nContent-Type: text/html\r\n\r\n<p>x &#99999999; y</p>\r\n');
    const id = await new PhoneMailbox(old, 'a').deliver({ raw });
    // What a server from before the list-fields migration (schema 10) stored: the raw header values.
    await old.engine.run("UPDATE messages SET subject = '=?UTF-8?B?R3LDvMOfZQ==?=', from_addr = '=?UTF-8?Q?J=C3=B6rg?= <j@x>', preview = ''");
    const oldDb = (old.engine as SqliteEngine).db;
    oldDb.exec('DROP TABLE cluster_nodes; DROP TABLE cluster_jobs; DROP TABLE login_failures; DROP TABLE sync_leases; DROP TABLE push_subscriptions; DROP TABLE agent_presence; DROP TABLE reach_cache_chunks; DROP TABLE reach_cache; ALTER TABLE messages DROP COLUMN held_parts');
    oldDb.pragma('user_version = 10');
    const before = await old.engine.all('SELECT id, raw, fingerprint, content_digest, date FROM messages');
    await old.close();

    const warnings: string[] = [];
    const log = { error: () => undefined, warn: (m: string) => void warnings.push(m), info: () => undefined, debug: () => undefined };
    const upgraded = await ServerStore.open(path, log);
    try {
      expect((upgraded.engine as SqliteEngine).db.pragma('user_version', { simple: true })).toBe(MIGRATIONS.length);
      expect(await upgraded.messages.get('a', id)).toMatchObject({ subject: 'Grüße', from: 'Jörg <j@x>', preview: 'x \ufffd y' });
      expect(await upgraded.engine.all('SELECT id, raw, fingerprint, content_digest, date FROM messages')).toEqual(before);
      expect(warnings).toEqual([]);
    } finally {
      await upgraded.close();
    }
  });
});
