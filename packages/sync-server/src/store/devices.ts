/**
 * Phone devices. Each has its own API token for programs (Authorization:
 * Bearer), and the web app signs a device in with a one-time code that becomes
 * a device session held in an HttpOnly cookie (issue 12). Tokens, codes and
 * sessions are 256 random bits, stored only as SHA-256 hashes: a lookup is by
 * hash, so a secret is never compared or kept. Revoking a device deletes its
 * sessions and codes with it (ON DELETE CASCADE).
 */
import { createHash, randomBytes } from 'node:crypto';
import type { SqlEngine } from './engine.js';

export interface Device {
  id: number;
  accountId: string;
  name: string;
}

export interface DeviceListing extends Device {
  createdAt: number;
  lastSeenAt: number | null;
  sessions: number;
}

/** How long a sign-in link works. */
export const SIGNIN_CODE_TTL_MS = 15 * 60 * 1000;

/** How a token, code or session is stored and looked up (other tables refer to a session by it: push subscriptions). */
export const secretHash = (secret: string) => createHash('sha256').update(secret, 'utf8').digest('hex');
const hash = secretHash;
const secret = (prefix: string) => `${prefix}_${randomBytes(32).toString('base64url')}`;
const DEVICE = 'SELECT d.id, d.account_id AS "accountId", d.name FROM devices d';

export class Devices {
  constructor(private readonly db: SqlEngine) {}

  async add(accountId: string, name: string): Promise<{ device: Device; token: string }> {
    const token = secret('tbd');
    const row = await this.db.get<{ id: number }>('INSERT INTO devices (account_id, name, token_hash, created_at) VALUES (?, ?, ?, ?) RETURNING id', [accountId, name, hash(token), Date.now()]);
    return { device: { id: row!.id, accountId, name }, token };
  }

  /** The device a bearer token belongs to. */
  async authenticate(token: string): Promise<Device | undefined> {
    return this.db.get<Device>(`${DEVICE} WHERE d.token_hash = ?`, [hash(token)]);
  }

  async get(accountId: string, id: number): Promise<Device | undefined> {
    return this.db.get<Device>(`${DEVICE} WHERE d.account_id = ? AND d.id = ?`, [accountId, id]);
  }

  async list(accountId: string): Promise<DeviceListing[]> {
    return this.db.all<DeviceListing>(
      `SELECT d.id, d.account_id AS "accountId", d.name, d.created_at AS "createdAt", d.last_seen_at AS "lastSeenAt",
              (SELECT COUNT(*) FROM device_sessions s WHERE s.device_id = d.id) AS sessions
         FROM devices d WHERE d.account_id = ? ORDER BY d.id`,
      [accountId],
    );
  }

  /** A one-time sign-in code for the device, valid SIGNIN_CODE_TTL_MS. */
  async signInCode(deviceId: number, now = Date.now()): Promise<string> {
    const code = secret('tbc');
    await this.db.run('DELETE FROM signin_codes WHERE expires_at <= ?', [now]);
    await this.db.run('INSERT INTO signin_codes (code_hash, device_id, expires_at) VALUES (?, ?, ?)', [hash(code), deviceId, now + SIGNIN_CODE_TTL_MS]);
    return code;
  }

  /** Exchange a sign-in code (once, before it expires) for a new device session. */
  async redeem(code: string, now = Date.now()): Promise<{ device: Device; session: string } | undefined> {
    return this.db.transaction(async () => {
      const row = await this.db.get<{ deviceId: number; expiresAt: number }>(
        'DELETE FROM signin_codes WHERE code_hash = ? RETURNING device_id AS "deviceId", expires_at AS "expiresAt"',
        [hash(code)],
      );
      if (!row || row.expiresAt <= now) return undefined;
      const device = await this.db.get<Device>(`${DEVICE} WHERE d.id = ?`, [row.deviceId]);
      if (!device) return undefined;
      const session = secret('tbs');
      await this.db.run('INSERT INTO device_sessions (session_hash, device_id, created_at) VALUES (?, ?, ?)', [hash(session), device.id, now]);
      return { device, session };
    });
  }

  /** The device a session cookie belongs to (none once the device is revoked or the session ended). */
  async authenticateSession(session: string): Promise<Device | undefined> {
    return this.db.get<Device>(`${DEVICE} JOIN device_sessions s ON s.device_id = d.id WHERE s.session_hash = ?`, [hash(session)]);
  }

  async endSession(session: string): Promise<void> {
    await this.db.run('DELETE FROM device_sessions WHERE session_hash = ?', [hash(session)]);
  }

  /** Remember when a device was last used (at most once a minute, to spare the disk). */
  async seen(deviceId: number, now = Date.now()): Promise<void> {
    await this.db.run('UPDATE devices SET last_seen_at = ? WHERE id = ? AND (last_seen_at IS NULL OR last_seen_at < ?)', [now, deviceId, now - 60_000]);
  }

  /** Revoke a device: its token, sessions and codes stop working at once. */
  async revoke(accountId: string, id: number): Promise<boolean> {
    const revoked = (await this.db.run('DELETE FROM devices WHERE account_id = ? AND id = ?', [accountId, id])) > 0;
    // Streams on every node on the database end now (PostgreSQL: NOTIFY); those of a server on another SQLite
    // process notice within seconds (event-stream.ts).
    if (revoked) this.db.notify('revoked', { accountId, deviceId: id });
    return revoked;
  }
}
