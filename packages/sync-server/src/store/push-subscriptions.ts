/**
 * Web Push subscriptions (issue 20): where each device's browser gets its
 * notifications. One per browser: a subscription belongs to the device
 * session that registered it (or, for a program, to its device token: no
 * session), and a browser's endpoint belongs to one session — registering it
 * again, for any account, replaces the old row. Signing out (the session
 * goes), revoking the device and removing the account remove it (ON DELETE
 * CASCADE), as does a push service's 404/410 (push/notifier.ts).
 *
 * `pending` counts new mail since the browser last looked (the app says so:
 * POST /api/v1/push/seen); the next notification shows it ("3 new messages").
 */
import type { SqlEngine } from './engine.js';
import { secretHash } from './devices.js';

/** What a notification shows: sender and subject, or only that mail came (the schema's CHECK). */
export const PUSH_SHOW = ['sender', 'count'] as const;
export type PushShow = (typeof PUSH_SHOW)[number];

export interface PushSubscriptionRow {
  id: number;
  accountId: string;
  deviceId: number;
  endpoint: string;
  p256dh: string;
  auth: string;
  /** The VAPID public key it was made for. */
  serverKey: string;
  show: PushShow;
  pending: number;
  newest: number | null;
  createdAt: number;
  lastSentAt: number | null;
  lastError: string | null;
}

/** Who holds a subscription: a device, through one browser session (undefined: a program with the device token). */
export interface PushHolder {
  deviceId: number;
  session?: string;
}

export interface NewPushSubscription {
  accountId: string;
  endpoint: string;
  p256dh: string;
  auth: string;
  serverKey: string;
  show: PushShow;
}

const COLUMNS = `id, account_id AS "accountId", device_id AS "deviceId", endpoint, p256dh, auth, server_key AS "serverKey", show, pending, newest,
                 created_at AS "createdAt", last_sent_at AS "lastSentAt", last_error AS "lastError"`;
/** The holder's rows: its session's, or (a program) the device's rows without a session. Two `?`: `holderParams` fills them. */
const HOLDER = 'device_id = ? AND session_hash IS NOT DISTINCT FROM ?';

const holderParams = (holder: PushHolder) => [holder.deviceId, holder.session === undefined ? null : secretHash(holder.session)];

export class PushSubscriptions {
  constructor(private readonly db: SqlEngine) {}

  /** Register the holder's subscription, replacing the holder's last one and any other row of this endpoint. */
  async register(holder: PushHolder, subscription: NewPushSubscription, now = Date.now()): Promise<PushSubscriptionRow> {
    const [deviceId, session] = holderParams(holder);
    return this.db.transaction(async () => {
      await this.db.run(`DELETE FROM push_subscriptions WHERE endpoint = ? OR (${HOLDER})`, [subscription.endpoint, deviceId, session]);
      const row = await this.db.get<PushSubscriptionRow>(
        `INSERT INTO push_subscriptions (account_id, device_id, session_hash, endpoint, p256dh, auth, server_key, show, created_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING ${COLUMNS}`,
        [subscription.accountId, deviceId, session, subscription.endpoint, subscription.p256dh, subscription.auth, subscription.serverKey, subscription.show, now],
      );
      return row!;
    }, { scope: subscription.accountId });
  }

  /** The holder's subscription, if it has one. */
  async of(holder: PushHolder): Promise<PushSubscriptionRow | undefined> {
    return this.db.get<PushSubscriptionRow>(`SELECT ${COLUMNS} FROM push_subscriptions WHERE ${HOLDER}`, holderParams(holder));
  }

  /** Notifications off for this holder. Returns how many subscriptions went. */
  async removeOf(holder: PushHolder): Promise<number> {
    return this.db.run(`DELETE FROM push_subscriptions WHERE ${HOLDER}`, holderParams(holder));
  }

  async setShow(holder: PushHolder, show: PushShow): Promise<boolean> {
    return (await this.db.run(`UPDATE push_subscriptions SET show = ? WHERE ${HOLDER}`, [show, ...holderParams(holder)])) > 0;
  }

  /** The holder has looked at its mail: the next notification counts from zero. */
  async seen(holder: PushHolder): Promise<void> {
    await this.db.run(`UPDATE push_subscriptions SET pending = 0 WHERE ${HOLDER} AND pending != 0`, holderParams(holder));
  }

  /** New mail for the account: every subscription of it counts `count` more, `newest` the latest. Returns their IDs. */
  async addNewMail(accountId: string, count: number, newest: number): Promise<number[]> {
    const rows = await this.db.all<{ id: number }>('UPDATE push_subscriptions SET pending = pending + ?, newest = ? WHERE account_id = ? RETURNING id', [count, newest, accountId]);
    return rows.map((r) => r.id);
  }

  async get(id: number): Promise<PushSubscriptionRow | undefined> {
    return this.db.get<PushSubscriptionRow>(`SELECT ${COLUMNS} FROM push_subscriptions WHERE id = ?`, [id]);
  }

  /** A push service no longer knows it (404/410), or its endpoint is now refused. */
  async remove(id: number): Promise<void> {
    await this.db.run('DELETE FROM push_subscriptions WHERE id = ?', [id]);
  }

  async sent(id: number, at = Date.now()): Promise<void> {
    await this.db.run('UPDATE push_subscriptions SET last_sent_at = ?, last_error = NULL WHERE id = ?', [at, id]);
  }

  async failed(id: number, error: string): Promise<void> {
    await this.db.run('UPDATE push_subscriptions SET last_error = ? WHERE id = ?', [error.slice(0, 500), id]);
  }

  /** Drop the subscriptions made for another VAPID key than `serverKey` (no push service would take our pushes for them). */
  async removeOtherKeys(serverKey: string): Promise<number> {
    return this.db.run('DELETE FROM push_subscriptions WHERE server_key != ?', [serverKey]);
  }
}
