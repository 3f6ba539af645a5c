/**
 * The server's Prometheus metrics (issue 13), with prom-client. Served at
 * `/metrics` where the operator allows it (metrics-endpoint.ts): never to
 * anyone by default.
 *
 *   twinbox_sync_sessions_open                 sync connections open now
 *   twinbox_agents_connected                   accounts with an agent connected now
 *   twinbox_web_event_streams                  phone web apps listening now
 *   twinbox_sync_sessions_total{outcome}       syncs: completed | quiet | failed
 *   twinbox_sync_duration_seconds{mode}        from hello to complete (initial | update)
 *   twinbox_actions_total{kind,direction}      actions applied: desktop_to_phone (the agent's) and
 *                                              phone_to_desktop (acknowledged by the agent)
 *   twinbox_errors_total{code}                 sessions refused or failed, by protocol error code
 *   twinbox_smtp_received_total{outcome,reason} inbound mail: delivered, or refused (and why)
 *   twinbox_smtp_sent_total{kind,outcome}      outbound: direct sends and trigger e-mails, ok | failed
 *   twinbox_http_requests_total{route,status}  phone API and web app requests (IDs folded into the route)
 *
 * plus prom-client's process metrics (CPU, memory, event loop lag, …) as twinbox_process_* and twinbox_nodejs_*.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export interface LiveCounts {
  sessionsOpen(): number;
  agentsConnected(): number;
  eventStreams(): number;
}

export type ActionDirection = 'desktop_to_phone' | 'phone_to_desktop';

/** What a sync session reports (sync/session.ts); tests of the session run without one. */
export interface SessionObserver {
  syncEnded(outcome: 'completed' | 'quiet' | 'failed', mode?: 'initial' | 'update', seconds?: number): void;
  error(code: string): void;
  action(kind: string, direction: ActionDirection): void;
  /** A change was set aside after failing again and again for reasons of its message (docs/quarantine.md). */
  quarantined(direction: ActionDirection): void;
}

export class ServerMetrics implements SessionObserver {
  readonly registry = new Registry();
  private readonly sessions: Counter<'outcome'>;
  private readonly duration: Histogram<'mode'>;
  private readonly actions: Counter<'kind' | 'direction'>;
  private readonly errors: Counter<'code'>;
  private readonly smtpIn: Counter<'outcome' | 'reason'>;
  private readonly smtpOut: Counter<'kind' | 'outcome'>;
  private readonly http: Counter<'route' | 'status'>;
  private readonly quarantine: Counter<'direction'>;

  constructor(live: LiveCounts) {
    const registers = [this.registry];
    collectDefaultMetrics({ register: this.registry, prefix: 'twinbox_' });
    const gauge = (name: string, help: string, read: () => number) =>
      new Gauge({
        name,
        help,
        registers,
        collect() {
          this.set(read());
        },
      });
    gauge('twinbox_sync_sessions_open', 'Sync connections open now', () => live.sessionsOpen());
    gauge('twinbox_agents_connected', 'Accounts with a desktop agent connected now', () => live.agentsConnected());
    gauge('twinbox_web_event_streams', 'Phone web apps listening for live changes now', () => live.eventStreams());
    this.sessions = new Counter({ name: 'twinbox_sync_sessions_total', help: 'Syncs by outcome', labelNames: ['outcome'], registers });
    this.duration = new Histogram({
      name: 'twinbox_sync_duration_seconds',
      help: 'Sync duration from hello to complete',
      labelNames: ['mode'],
      buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300],
      registers,
    });
    this.actions = new Counter({ name: 'twinbox_actions_total', help: 'Actions applied, by kind and direction', labelNames: ['kind', 'direction'], registers });
    this.errors = new Counter({ name: 'twinbox_errors_total', help: 'Sync sessions refused or failed, by error code', labelNames: ['code'], registers });
    this.smtpIn = new Counter({ name: 'twinbox_smtp_received_total', help: 'Inbound mail for the phone addresses', labelNames: ['outcome', 'reason'], registers });
    this.smtpOut = new Counter({ name: 'twinbox_smtp_sent_total', help: 'Outbound mail: direct sends and trigger e-mails', labelNames: ['kind', 'outcome'], registers });
    this.http = new Counter({ name: 'twinbox_http_requests_total', help: 'Phone API and web app requests', labelNames: ['route', 'status'], registers });
    this.quarantine = new Counter({
      name: 'twinbox_quarantined_total',
      help: 'Changes set aside after failing again and again for reasons of their message, by direction',
      labelNames: ['direction'],
      registers,
    });
  }

  quarantined(direction: ActionDirection): void {
    this.quarantine.inc({ direction });
  }

  syncEnded(outcome: 'completed' | 'quiet' | 'failed', mode?: 'initial' | 'update', seconds?: number): void {
    this.sessions.inc({ outcome });
    if (mode && seconds !== undefined) this.duration.observe({ mode }, seconds);
  }

  error(code: string): void {
    this.errors.inc({ code });
  }

  action(kind: string, direction: ActionDirection): void {
    this.actions.inc({ kind, direction });
  }

  smtpReceived(outcome: 'delivered' | 'refused', reason: string): void {
    this.smtpIn.inc({ outcome, reason });
  }

  smtpSent(kind: 'direct' | 'trigger', ok: boolean): void {
    this.smtpOut.inc({ kind, outcome: ok ? 'ok' : 'failed' });
  }

  request(path: string, status: number): void {
    this.http.inc({ route: routeOf(path), status: String(status) });
  }
}

const API_ROUTES = [
  /^\/api\/v1\/(session|status|events|send|sync-now)$/,
  /^\/api\/v1\/folders\/(inbox|trash|sent|outbox)$/,
  /^\/api\/v1\/quarantine\/:id\/retry$/,
  /^\/api\/v1\/messages\/:id(\/(view|read|unread|flag|unflag|trash|recover|destroy|retry|attachments\/:id))?$/,
];
const STATIC_ROUTES = new Set(['/', '/index.html', '/app.js', '/app.css', '/sw.js', '/manifest.webmanifest', '/healthz', '/readyz', '/metrics', '/sync']);

/**
 * A request path as a label: numbers folded into ":id", and anything that is
 * not a route of this server one label ("other") — a stranger's made-up
 * paths must not grow the metrics without bound.
 */
export function routeOf(path: string): string {
  const clean = path.split('?')[0] ?? '/';
  const folded = clean.replace(/\/\d{1,15}(?=\/|$)/g, '/:id');
  if (API_ROUTES.some((route) => route.test(folded))) return folded;
  if (STATIC_ROUTES.has(clean)) return clean;
  if (/^\/icons\/[\w.-]+$/.test(clean)) return '/icons/*';
  return 'other';
}
