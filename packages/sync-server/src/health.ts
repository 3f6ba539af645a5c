/**
 * Health endpoints for a load balancer, a container runtime or systemd
 * watchdogs (issue 13): `GET /healthz` — the process answers; `GET /readyz` —
 * it can do its work: the database answers a query. Neither needs a token
 * nor says anything an attacker could use (no versions, no counts).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { ServerStore } from './store/index.js';

function reply(res: ServerResponse, status: number, body: Record<string, string>): void {
  res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store' }).end(JSON.stringify(body));
}

/** Answers /healthz and /readyz (GET or HEAD); false for any other request. */
export function healthEndpoints(store: ServerStore): (req: IncomingMessage, res: ServerResponse) => boolean {
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
    try {
      store.db.prepare('SELECT 1').get();
      reply(res, 200, { status: 'ready' });
    } catch {
      reply(res, 503, { status: 'database unavailable' });
    }
    return true;
  };
}
