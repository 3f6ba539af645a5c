/**
 * Where the metrics are served (issue 13). Mail metadata is nobody's business,
 * so /metrics is off until the operator opens it, in one or both ways:
 *
 *   "metrics": { "token": "…" }                              GET /metrics on the HTTPS port, with
 *                                                             Authorization: Bearer <token>
 *   "metrics": { "listen": { "host": "127.0.0.1", "port": 9464 } }
 *                                                             plain HTTP on that address, /metrics only
 *                                                             (for a Prometheus on the same host or network)
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { ServerMetrics } from './metrics.js';

export interface MetricsConfig {
  /** Bearer token that opens GET /metrics on the HTTPS port. */
  token?: string;
  /** A plain-HTTP listener that serves only /metrics. */
  listen?: { host: string; port: number };
}

const digest = (value: string) => createHash('sha256').update(value, 'utf8').digest();

async function serve(metrics: ServerMetrics, res: ServerResponse): Promise<void> {
  const body = await metrics.registry.metrics();
  res.writeHead(200, { 'content-type': metrics.registry.contentType, 'cache-control': 'no-store' }).end(body);
}

/** GET /metrics on the HTTPS port: 404 unless a token is configured, 401 without it. Other paths: false. */
export function metricsOnMainPort(metrics: ServerMetrics, token: string | undefined): (req: IncomingMessage, res: ServerResponse) => boolean {
  const expected = token ? digest(token) : undefined;
  return (req, res) => {
    if ((req.url ?? '').split('?')[0] !== '/metrics') return false;
    const given = /^Bearer\s+(\S+)$/i.exec(req.headers.authorization ?? '')?.[1];
    if (!expected) res.writeHead(404, { 'content-type': 'application/json' }).end('{"error":{"code":"NOT_FOUND","message":"no such route"}}');
    else if (!given || !timingSafeEqual(digest(given), expected)) res.writeHead(401, { 'content-type': 'application/json', 'www-authenticate': 'Bearer' }).end('{"error":{"code":"UNAUTHORIZED","message":"metrics need their token"}}');
    else void serve(metrics, res);
    return true;
  };
}

/** The separate metrics listener; resolves with its port. */
export async function startMetricsListener(metrics: ServerMetrics, listen: { host: string; port: number }): Promise<{ port: number; close(): Promise<void> }> {
  const server = createServer((req, res) => {
    if (req.method === 'GET' && (req.url ?? '').split('?')[0] === '/metrics') void serve(metrics, res);
    else res.writeHead(404, { 'content-type': 'text/plain' }).end('only /metrics here\n');
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(listen.port, listen.host, () => resolve());
  });
  return {
    port: (server.address() as AddressInfo).port,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
