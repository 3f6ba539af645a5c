/**
 * When each account's last trigger e-mail went out (issue 18.10): "sync now"
 * by e-mail is sent at most once per interval per account, and the rule is
 * held here, in the database, not in a process's memory — it holds across a
 * restart and across several server processes on one database. The slot is
 * claimed in one IMMEDIATE transaction *before* the e-mail is sent, so of a
 * hundred requests at once exactly one sends; the rest hear when it was sent.
 */
import type { SqlEngine } from './engine.js';

export type TriggerClaim =
  /** This caller sends the e-mail; `sentAt` is its stamp (for release). */
  | { claimed: true; sentAt: number }
  /** One was sent at `sentAt`, less than the interval ago: nothing to send. */
  | { claimed: false; sentAt: number };

export class TriggerMails {
  constructor(private readonly db: SqlEngine) {}

  async claim(accountId: string, intervalMs: number, now = Date.now()): Promise<TriggerClaim> {
    return this.db.transaction(async (): Promise<TriggerClaim> => {
      const row = await this.db.get<{ sent_at: number }>('SELECT sent_at FROM trigger_mails WHERE account_id = ?', [accountId]);
      // A stamp far in the future (a node whose clock was wrong) is ignored: nothing blocks for more than two intervals.
      if (row && row.sent_at > now - intervalMs && row.sent_at <= now + intervalMs) return { claimed: false, sentAt: row.sent_at };
      await this.db.run('INSERT INTO trigger_mails (account_id, sent_at) VALUES (?, ?) ON CONFLICT (account_id) DO UPDATE SET sent_at = excluded.sent_at', [accountId, now]);
      return { claimed: true, sentAt: now };
    }, { scope: accountId });
  }

  /** The claimed e-mail could not be sent: the next request may try at once. */
  async release(accountId: string, sentAt: number): Promise<void> {
    await this.db.run('DELETE FROM trigger_mails WHERE account_id = ? AND sent_at = ?', [accountId, sentAt]);
  }
}
