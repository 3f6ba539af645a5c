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

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

describe('schema 9: list fields derived again', () => {
  it('an older database lists its messages decoded after the upgrade, nothing else changed', () => {
    const dir = mkdtempSync(join(tmpdir(), 'twinbox-migration-'));
    dirs.push(dir);
    const path = join(dir, 'twinbox.db');
    const old = ServerStore.open(path);
    old.accounts.add({ id: 'a', desktopAddress: 'a@x', window: 3 });
    const raw = Buffer.from('From: =?UTF-8?Q?J=C3=B6rg?= <j@x>\r\nSubject: =?UTF-8?B?R3LDvMOfZQ==?=\r\nContent-Type: text/html\r\n\r\n<p>x &#99999999; y</p>\r\n');
    const id = new PhoneMailbox(old, 'a').deliver({ raw });
    // What a server from before the list-fields migration (schema 10) stored: the raw header values.
    old.db.prepare("UPDATE messages SET subject = '=?UTF-8?B?R3LDvMOfZQ==?=', from_addr = '=?UTF-8?Q?J=C3=B6rg?= <j@x>', preview = ''").run();
    old.db.exec('DROP TABLE push_subscriptions; DROP TABLE agent_presence; DROP TABLE reach_cache_chunks; DROP TABLE reach_cache; ALTER TABLE messages DROP COLUMN held_parts');
    old.db.pragma('user_version = 10');
    const before = old.db.prepare('SELECT id, raw, fingerprint, content_digest, date FROM messages').all();
    old.close();

    const warnings: string[] = [];
    const log = { error: () => undefined, warn: (m: string) => void warnings.push(m), info: () => undefined, debug: () => undefined };
    const upgraded = ServerStore.open(path, log);
    try {
      expect(upgraded.db.pragma('user_version', { simple: true })).toBe(MIGRATIONS.length);
      expect(upgraded.messages.get('a', id)).toMatchObject({ subject: 'Grüße', from: 'Jörg <j@x>', preview: 'x \ufffd y' });
      expect(upgraded.db.prepare('SELECT id, raw, fingerprint, content_digest, date FROM messages').all()).toEqual(before);
      expect(warnings).toEqual([]);
    } finally {
      upgraded.close();
    }
  });
});
