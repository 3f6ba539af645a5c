/**
 * Health endpoints for a load balancer, a container runtime or systemd
 * watchdogs (issue 13): `GET /healthz` — the process answers; `GET /readyz` —
 * it can do its work: the database answers a query, within
 * `READY_TIMEOUT_MS` (a PostgreSQL that hangs must fail the probe, not hang
 * it). Neither needs a token nor says anything an attacker could use (no
 * versions, no counts).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { ServerStore } from './store/index.js';

/** How long /readyz waits for the database before it answers 503. */
export const READY_TIMEOUT_MS = 3_000;

function reply(res: ServerResponse, status: number, body: Record<string, string>): void {
  res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store' }).end(JSON.stringify(body));
}

/** Does the database answer a query within `timeoutMs`? Never throws. */
async function databaseAnswers(store: ServerStore, timeoutMs: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<false>((resolve) => {
    timer = setTimeout(() => resolve(false), timeoutMs);
  });
  try {
    return await Promise.race([store.engine.get('SELECT 1').then(() => true), late]);
  } catch {
    return false;
  } finally {
    clearTimeout(timer);
  }
}

/** Answers /healthz and /readyz (GET or HEAD); false for any other request. */
export function healthEndpoints(store: ServerStore, timeoutMs = READY_TIMEOUT_MS): (req: IncomingMessage, res: ServerResponse) => boolean {
  return (req, res) => {
    const path = (req.url ?? '').split('?')[0];
    if (path !== '/healthz' && path !== '/readyz') return false;
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      reply(res, 405, { status: 'method not allowed' });
      return true;
    }
    if (path === '/healthz') {
      reply(res, 200, { status: 'ok' });
      return true;
    }
    // databaseAnswers never rejects, so neither does this.
    void databaseAnswers(store, timeoutMs).then((ready) => (ready ? reply(res, 200, { status: 'ready' }) : reply(res, 503, { status: 'database unavailable' })));
    return true;
  };
}
