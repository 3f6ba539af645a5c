/**
 * When each account's last trigger e-mail went out (issue 18.10): "sync now"
 * by e-mail is sent at most once per interval per account, and the rule is
 * held here, in the database, not in a process's memory — it holds across a
 * restart and across several server processes on one database. The slot is
 * claimed in one IMMEDIATE transaction *before* the e-mail is sent, so of a
 * hundred requests at once exactly one sends; the rest hear when it was sent.
 */
import type { Db } from './db.js';

export type TriggerClaim =
  /** This caller sends the e-mail; `sentAt` is its stamp (for release). */
  | { claimed: true; sentAt: number }
  /** One was sent at `sentAt`, less than the interval ago: nothing to send. */
  | { claimed: false; sentAt: number };

export class TriggerMails {
  constructor(private readonly db: Db) {}

  claim(accountId: string, intervalMs: number, now = Date.now()): TriggerClaim {
    return this.db
      .transaction((): TriggerClaim => {
        const row = this.db.prepare('SELECT sent_at FROM trigger_mails WHERE account_id = ?').get(accountId) as { sent_at: number } | undefined;
        // A stamp far in the future (a node whose clock was wrong) is ignored: nothing blocks for more than two intervals.
        if (row && row.sent_at > now - intervalMs && row.sent_at <= now + intervalMs) return { claimed: false, sentAt: row.sent_at };
        this.db.prepare('INSERT OR REPLACE INTO trigger_mails (account_id, sent_at) VALUES (?, ?)').run(accountId, now);
        return { claimed: true, sentAt: now };
      })
      .immediate();
  }

  /** The claimed e-mail could not be sent: the next request may try at once. */
  release(accountId: string, sentAt: number): void {
    this.db.prepare('DELETE FROM trigger_mails WHERE account_id = ? AND sent_at = ?').run(accountId, sentAt);
  }
}
