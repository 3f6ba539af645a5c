/**
 * Answers to phone requests sent with an Idempotency-Key header: the web app
 * queues actions taken offline and sends each with a key of its own, so one
 * sent again (its first answer lost with the connection) is answered, not done
 * twice — a mail is sent once. Answers are kept a day.
 */
import type { Db } from './db.js';

export const API_REQUEST_TTL_MS = 24 * 60 * 60 * 1000;

export interface StoredAnswer {
  status: number;
  body: unknown;
}

export class ApiRequests {
  constructor(private readonly db: Db) {}

  get(accountId: string, key: string): StoredAnswer | undefined {
    const row = this.db.prepare('SELECT status, body FROM api_requests WHERE account_id = ? AND key = ?').get(accountId, key) as { status: number; body: string } | undefined;
    return row ? { status: row.status, body: JSON.parse(row.body) as unknown } : undefined;
  }

  put(accountId: string, key: string, answer: StoredAnswer, now = Date.now()): void {
    this.db.prepare('DELETE FROM api_requests WHERE created_at < ?').run(now - API_REQUEST_TTL_MS);
    this.db
      .prepare('INSERT OR REPLACE INTO api_requests (account_id, key, status, body, created_at) VALUES (?, ?, ?, ?, ?)')
      .run(accountId, key, answer.status, JSON.stringify(answer.body), now);
  }
}
