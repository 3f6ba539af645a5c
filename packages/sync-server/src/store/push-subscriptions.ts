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
import type { Db } from './db.js';
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

const COLUMNS = `id, account_id AS accountId, device_id AS deviceId, endpoint, p256dh, auth, server_key AS serverKey, show, pending, newest,
                 created_at AS createdAt, last_sent_at AS lastSentAt, last_error AS lastError`;
/** The holder's rows: its session's, or (a program) the device's rows without a session. */
const HOLDER = 'device_id = @deviceId AND session_hash IS @session';

const holderParams = (holder: PushHolder) => ({ deviceId: holder.deviceId, session: holder.session === undefined ? null : secretHash(holder.session) });

export class PushSubscriptions {
  constructor(private readonly db: Db) {}

  /** Register the holder's subscription, replacing the holder's last one and any other row of this endpoint. */
  register(holder: PushHolder, subscription: NewPushSubscription, now = Date.now()): PushSubscriptionRow {
    const params = holderParams(holder);
    return this.db.transaction(() => {
      this.db.prepare(`DELETE FROM push_subscriptions WHERE endpoint = @endpoint OR (${HOLDER})`).run({ ...params, endpoint: subscription.endpoint });
      const row = this.db
        .prepare(
          `INSERT INTO push_subscriptions (account_id, device_id, session_hash, endpoint, p256dh, auth, server_key, show, created_at)
           VALUES (@accountId, @deviceId, @session, @endpoint, @p256dh, @auth, @serverKey, @show, @now) RETURNING ${COLUMNS}`,
        )
        .get({ ...params, ...subscription, now }) as PushSubscriptionRow;
      return row;
    }).immediate();
  }

  /** The holder's subscription, if it has one. */
  of(holder: PushHolder): PushSubscriptionRow | undefined {
    return this.db.prepare(`SELECT ${COLUMNS} FROM push_subscriptions WHERE ${HOLDER}`).get(holderParams(holder)) as PushSubscriptionRow | undefined;
  }

  /** Notifications off for this holder. Returns how many subscriptions went. */
  removeOf(holder: PushHolder): number {
    return this.db.prepare(`DELETE FROM push_subscriptions WHERE ${HOLDER}`).run(holderParams(holder)).changes;
  }

  setShow(holder: PushHolder, show: PushShow): boolean {
    return this.db.prepare(`UPDATE push_subscriptions SET show = @show WHERE ${HOLDER}`).run({ ...holderParams(holder), show }).changes > 0;
  }

  /** The holder has looked at its mail: the next notification counts from zero. */
  seen(holder: PushHolder): void {
    this.db.prepare(`UPDATE push_subscriptions SET pending = 0 WHERE ${HOLDER} AND pending != 0`).run(holderParams(holder));
  }

  /** New mail for the account: every subscription of it counts `count` more, `newest` the latest. Returns their IDs. */
  addNewMail(accountId: string, count: number, newest: number): number[] {
    const rows = this.db
      .prepare('UPDATE push_subscriptions SET pending = pending + ?, newest = ? WHERE account_id = ? RETURNING id')
      .all(count, newest, accountId) as { id: number }[];
    return rows.map((r) => r.id);
  }

  get(id: number): PushSubscriptionRow | undefined {
    return this.db.prepare(`SELECT ${COLUMNS} FROM push_subscriptions WHERE id = ?`).get(id) as PushSubscriptionRow | undefined;
  }

  /** A push service no longer knows it (404/410), or its endpoint is now refused. */
  remove(id: number): void {
    this.db.prepare('DELETE FROM push_subscriptions WHERE id = ?').run(id);
  }

  sent(id: number, at = Date.now()): void {
    this.db.prepare('UPDATE push_subscriptions SET last_sent_at = ?, last_error = NULL WHERE id = ?').run(at, id);
  }

  failed(id: number, error: string): void {
    this.db.prepare('UPDATE push_subscriptions SET last_error = ? WHERE id = ?').run(error.slice(0, 500), id);
  }

  /** Drop the subscriptions made for another VAPID key than `serverKey` (no push service would take our pushes for them). */
  removeOtherKeys(serverKey: string): number {
    return this.db.prepare('DELETE FROM push_subscriptions WHERE server_key != ?').run(serverKey).changes;
  }
}
