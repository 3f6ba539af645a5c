/**
 * Phone devices. Each has its own API token for programs (Authorization:
 * Bearer), and the web app signs a device in with a one-time code that becomes
 * a device session held in an HttpOnly cookie (issue 12). Tokens, codes and
 * sessions are 256 random bits, stored only as SHA-256 hashes: a lookup is by
 * hash, so a secret is never compared or kept. Revoking a device deletes its
 * sessions and codes with it (ON DELETE CASCADE).
 */
import { createHash, randomBytes } from 'node:crypto';
import type { Db } from './db.js';
import type { StoreEvents } from './events.js';

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

const hash = (secret: string) => createHash('sha256').update(secret, 'utf8').digest('hex');
const secret = (prefix: string) => `${prefix}_${randomBytes(32).toString('base64url')}`;
const DEVICE = 'SELECT d.id, d.account_id AS accountId, d.name FROM devices d';

export class Devices {
  constructor(
    private readonly db: Db,
    private readonly events: StoreEvents,
  ) {}

  add(accountId: string, name: string): { device: Device; token: string } {
    const token = secret('tbd');
    const result = this.db.prepare('INSERT INTO devices (account_id, name, token_hash, created_at) VALUES (?, ?, ?, ?)').run(accountId, name, hash(token), Date.now());
    return { device: { id: Number(result.lastInsertRowid), accountId, name }, token };
  }

  /** The device a bearer token belongs to. */
  authenticate(token: string): Device | undefined {
    return this.db.prepare(`${DEVICE} WHERE d.token_hash = ?`).get(hash(token)) as Device | undefined;
  }

  get(accountId: string, id: number): Device | undefined {
    return this.db.prepare(`${DEVICE} WHERE d.account_id = ? AND d.id = ?`).get(accountId, id) as Device | undefined;
  }

  list(accountId: string): DeviceListing[] {
    return this.db
      .prepare(
        `SELECT d.id, d.account_id AS accountId, d.name, d.created_at AS createdAt, d.last_seen_at AS lastSeenAt,
                (SELECT COUNT(*) FROM device_sessions s WHERE s.device_id = d.id) AS sessions
           FROM devices d WHERE d.account_id = ? ORDER BY d.id`,
      )
      .all(accountId) as DeviceListing[];
  }

  /** A one-time sign-in code for the device, valid SIGNIN_CODE_TTL_MS. */
  signInCode(deviceId: number, now = Date.now()): string {
    const code = secret('tbc');
    this.db.prepare('DELETE FROM signin_codes WHERE expires_at <= ?').run(now);
    this.db.prepare('INSERT INTO signin_codes (code_hash, device_id, expires_at) VALUES (?, ?, ?)').run(hash(code), deviceId, now + SIGNIN_CODE_TTL_MS);
    return code;
  }

  /** Exchange a sign-in code (once, before it expires) for a new device session. */
  redeem(code: string, now = Date.now()): { device: Device; session: string } | undefined {
    return this.db.transaction(() => {
      const row = this.db.prepare('DELETE FROM signin_codes WHERE code_hash = ? RETURNING device_id AS deviceId, expires_at AS expiresAt').get(hash(code)) as
        | { deviceId: number; expiresAt: number }
        | undefined;
      if (!row || row.expiresAt <= now) return undefined;
      const device = this.db.prepare(`${DEVICE} WHERE d.id = ?`).get(row.deviceId) as Device | undefined;
      if (!device) return undefined;
      const session = secret('tbs');
      this.db.prepare('INSERT INTO device_sessions (session_hash, device_id, created_at) VALUES (?, ?, ?)').run(hash(session), device.id, now);
      return { device, session };
    })();
  }

  /** The device a session cookie belongs to (none once the device is revoked or the session ended). */
  authenticateSession(session: string): Device | undefined {
    return this.db.prepare(`${DEVICE} JOIN device_sessions s ON s.device_id = d.id WHERE s.session_hash = ?`).get(hash(session)) as Device | undefined;
  }

  endSession(session: string): void {
    this.db.prepare('DELETE FROM device_sessions WHERE session_hash = ?').run(hash(session));
  }

  /** Remember when a device was last used (at most once a minute, to spare the disk). */
  seen(deviceId: number, now = Date.now()): void {
    this.db.prepare('UPDATE devices SET last_seen_at = ? WHERE id = ? AND (last_seen_at IS NULL OR last_seen_at < ?)').run(now, deviceId, now - 60_000);
  }

  /** Revoke a device: its token, sessions and codes stop working at once. */
  revoke(accountId: string, id: number): boolean {
    const revoked = this.db.prepare('DELETE FROM devices WHERE account_id = ? AND id = ?').run(accountId, id).changes > 0;
    // Streams of this process end now; those of a server in another process notice within seconds (event-stream.ts).
    if (revoked) this.events.emit('revoked', accountId, id);
    return revoked;
  }
}
