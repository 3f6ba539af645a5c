/**
 * Phone devices: each has its own API token, shown once and stored only as a
 * SHA-256 hash (it is 256 random bits). A token names exactly one account.
 */
import { createHash, randomBytes } from 'node:crypto';
import type { Db } from './db.js';

export interface Device {
  id: number;
  accountId: string;
  name: string;
}

const hash = (token: string) => createHash('sha256').update(token, 'utf8').digest('hex');

export class Devices {
  constructor(private readonly db: Db) {}

  add(accountId: string, name: string): { device: Device; token: string } {
    const token = `tbd_${randomBytes(32).toString('base64url')}`;
    const result = this.db.prepare('INSERT INTO devices (account_id, name, token_hash, created_at) VALUES (?, ?, ?, ?)').run(accountId, name, hash(token), Date.now());
    return { device: { id: Number(result.lastInsertRowid), accountId, name }, token };
  }

  /** The device a bearer token belongs to. The lookup is by hash, so the token itself is never compared or stored. */
  authenticate(token: string): Device | undefined {
    return this.db.prepare('SELECT id, account_id AS accountId, name FROM devices WHERE token_hash = ?').get(hash(token)) as Device | undefined;
  }

  list(accountId: string): Device[] {
    return this.db.prepare('SELECT id, account_id AS accountId, name FROM devices WHERE account_id = ? ORDER BY id').all(accountId) as Device[];
  }
}
