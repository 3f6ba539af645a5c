/**
 * Phone requests sent with an Idempotency-Key header, done once (issue 18.9):
 * the web app queues actions taken offline and sends each with a key of its
 * own, so one sent again (its first answer lost with the connection) is
 * answered, not done twice — a mail is sent once.
 *
 * A key is *claimed* before the request's work starts: one serialized
 * transaction (engine.ts) looks the key up and, when it is free, writes a `running`
 * marker, so of two requests with the same key at once (two processes, two
 * connections) exactly one gets the claim. The others get the stored answer
 * once there is one, `running` until then (the API answers 409 IN_PROGRESS).
 *
 *   (none) --claim--> running --finish--> done (answer kept a day)
 *                        \------release--> (none)   the work failed and changed nothing
 *                         \-----lease lapses-------> claimable again (its server stopped mid-request)
 *
 * A key names one request: sent with another method or path it is refused.
 */
import type { SqlEngine } from './engine.js';

export const API_REQUEST_TTL_MS = 24 * 60 * 60 * 1000;
/**
 * A claim whose request never answered lapses after this: its server was
 * stopped in the middle. Longer than any request can run: Node ends a request
 * whose body is not in after 5 minutes, and a direct send's relay gives up
 * within nodemailer's timeouts (2 min to connect, 30 s greeting, 10 min idle).
 */
export const API_CLAIM_LEASE_MS = 30 * 60 * 1000;

export interface StoredAnswer {
  status: number;
  body: unknown;
}

/** What a claim found. `claimed` carries the claim's stamp, which finish and release must show. */
export type Claim =
  | { kind: 'claimed'; stamp: number }
  | { kind: 'answered'; answer: StoredAnswer }
  | { kind: 'running'; since: number }
  | { kind: 'other-request'; request: string };

interface Row {
  state: 'running' | 'done';
  request: string;
  status: number;
  body: string;
  created_at: number;
}

export class ApiRequests {
  constructor(private readonly db: SqlEngine) {}

  /** Claim `key` for `request` (e.g. "POST /api/v1/send"), or say why not. */
  async claim(accountId: string, key: string, request: string, now = Date.now()): Promise<Claim> {
    return this.db.transaction(async (): Promise<Claim> => {
      await this.db.run('DELETE FROM api_requests WHERE created_at < ?', [now - API_REQUEST_TTL_MS]);
      const row = await this.db.get<Row>('SELECT state, request, status, body, created_at FROM api_requests WHERE account_id = ? AND key = ?', [accountId, key]);
      // Rows from before claims existed carry no request ('').
      if (row && row.request !== '' && row.request !== request) return { kind: 'other-request', request: row.request };
      if (row?.state === 'done') return { kind: 'answered', answer: { status: row.status, body: JSON.parse(row.body) as unknown } };
      if (row?.state === 'running' && now - row.created_at < API_CLAIM_LEASE_MS) return { kind: 'running', since: row.created_at };
      // A stamp that no earlier claim of this key had, so that a lapsed claim's late answer cannot overwrite this one's.
      const stamp = row ? Math.max(now, row.created_at + 1) : now;
      await this.db.run(
        `INSERT INTO api_requests (account_id, key, state, request, status, body, created_at) VALUES (?, ?, 'running', ?, 0, 'null', ?)
         ON CONFLICT (account_id, key) DO UPDATE SET state = excluded.state, request = excluded.request, status = excluded.status,
           body = excluded.body, created_at = excluded.created_at`,
        [accountId, key, request, stamp],
      );
      return { kind: 'claimed', stamp };
    }, { scope: accountId });
  }

  /** The claimed request's answer: kept, and given to every later request with the key. */
  async finish(accountId: string, key: string, stamp: number, answer: StoredAnswer): Promise<void> {
    await this.db.run("UPDATE api_requests SET state = 'done', status = ?, body = ? WHERE account_id = ? AND key = ? AND state = 'running' AND created_at = ?", [
      answer.status,
      JSON.stringify(answer.body),
      accountId,
      key,
      stamp,
    ]);
  }

  /** The claimed request changed nothing: the key is free again. */
  async release(accountId: string, key: string, stamp: number): Promise<void> {
    await this.db.run("DELETE FROM api_requests WHERE account_id = ? AND key = ? AND state = 'running' AND created_at = ?", [accountId, key, stamp]);
  }

  /** The kept answer for a key, if its request has finished. */
  async get(accountId: string, key: string): Promise<StoredAnswer | undefined> {
    const row = await this.db.get<Row>("SELECT status, body FROM api_requests WHERE account_id = ? AND key = ? AND state = 'done'", [accountId, key]);
    return row ? { status: row.status, body: JSON.parse(row.body) as unknown } : undefined;
  }
}
