/**
 * The running sync server: its store, one HTTPS port that serves the sync
 * endpoint (/sync), the phone API (/api/v1/) and the phone web app (/), and
 * inbound SMTP for the phone addresses when configured. TLS 1.2+ only; the
 * key and certificate are reloaded when their files change (tls-reload.ts).
 */
import { createServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import type { TLSSocket } from 'node:tls';
import type { ServerConfig } from './config.js';
import { startInboundSmtp, type InboundSmtp } from './inbound/smtp-receiver.js';
import { createLogger } from './log.js';
import { observedMailer, relayMailer } from './mailer.js';
import { ServerMetrics } from './metrics.js';
import { metricsOnMainPort, startMetricsListener } from './metrics-endpoint.js';
import { healthEndpoints } from './health.js';
import { scheduleHousekeeping } from './housekeeping.js';
import { createPhoneApi } from './phone/api.js';
import { startPush } from './push/service.js';
import { EventStreams } from './phone/event-stream.js';
import { webApp } from './phone/web-app.js';
import { createSyncNow } from './sync-now.js';
import { ServerStore } from './store/index.js';
import { PRESENCE_HEARTBEAT_MS } from './store/agent-presence.js';
import { ConnectionGate } from './transport/connection-gate.js';
import { attachSyncEndpoint } from './transport/sync-endpoint.js';
import { readTlsMaterial } from './tls.js';
import { watchTlsFiles } from './tls-reload.js';

export interface RunningServer {
  store: ServerStore;
  host: string;
  port: number;
  /** Port of inbound SMTP for the phone addresses, when configured. */
  smtpPort: number | undefined;
  /** Port of the plain-HTTP metrics listener, when configured. */
  metricsPort: number | undefined;
  /** Read the TLS files again now (SIGHUP); true if a new certificate is in use. */
  reloadTls(): boolean;
  close(): Promise<void>;
}

export async function startServer(config: ServerConfig): Promise<RunningServer> {
  const log = createLogger('server');
  const store = ServerStore.open(config.database, log);
  store.reachCache.dropIncomplete();
  const tls = readTlsMaterial(config.tls);
  const limits = config.connections;
  const loginTimeoutMs = limits.loginTimeoutSeconds * 1000;
  // A stranger gets loginTimeoutMs for the TLS handshake, again for the request headers, and again to log in.
  const https = createServer({ key: tls.key, cert: tls.cert, minVersion: 'TLSv1.2', handshakeTimeout: loginTimeoutMs });
  https.headersTimeout = loginTimeoutMs;
  const gate = new ConnectionGate({
    loginTimeoutMs,
    maxPreAuthBytes: limits.maxPreAuthBytes,
    maxPerSource: limits.maxUnauthenticatedPerSource,
    maxTotal: limits.maxUnauthenticated,
  });
  https.on('secureConnection', (socket: TLSSocket) => gate.admit(socket));
  const events = new EventStreams(store, { maxPerDevice: config.phone.maxEventStreamsPerDevice });
  const metrics = new ServerMetrics({
    sessionsOpen: () => endpoint.sessions(),
    agentsConnected: () => endpoint.agentsConnected(),
    eventStreams: () => events.size,
  });
  const endpoint = attachSyncEndpoint(https, store, log, {
    gate,
    sessionIdleMs: limits.sessionIdleSeconds * 1000,
    sendBufferBytes: limits.sendBufferBytes,
    observer: metrics,
    previewAboveBytes: config.reach.previewAboveBytes,
  });
  const push = startPush(store, config.push, log, { observer: metrics });
  const phoneApi = createPhoneApi(store, log, {
    events,
    push,
    onAuthenticated: (socket) => gate.authenticated(socket),
    ...(config.relay ? { mailer: observedMailer(relayMailer(config.relay), (ok) => metrics.smtpSent('direct', ok)) } : {}),
    agentConnected: (accountId) => endpoint.connected(accountId),
    desktop: { requests: (accountId) => endpoint.agentRequests(accountId), timeoutMs: config.reach.timeoutSeconds * 1000, cacheBytes: config.reach.cacheBytesPerAccount },
    syncNow: createSyncNow(store, (accountId) => endpoint.requestSync(accountId, 'syncNow'), config.trigger, log, config.phone.syncNowEmailIntervalSeconds * 1000, (ok) =>
      metrics.smtpSent('trigger', ok),
    ),
  });
  // Whether each agent is connected, for `twinbox-server account list` run beside this process (agent-presence.ts).
  store.presence.allGone();
  const onPresence = (accountId: string) => store.presence.record(accountId, endpoint.connected(accountId));
  store.events.on('presence', onPresence);
  const presenceHeartbeat = setInterval(() => store.presence.heartbeat(), PRESENCE_HEARTBEAT_MS);
  presenceHeartbeat.unref();
  const health = healthEndpoints(store);
  const metricsRoute = metricsOnMainPort(metrics, config.metrics?.token);
  const app = webApp();
  https.on('request', (req, res) => {
    res.once('close', () => metrics.request(req.url ?? '/', res.statusCode));
    void (async () => {
      if (health(req, res)) return;
      if (metricsRoute(req, res)) return;
      if (await phoneApi(req, res)) return;
      if (app(req, res)) return;
      res.writeHead(404, { 'content-type': 'application/json' }).end(JSON.stringify({ error: { code: 'NOT_FOUND', message: 'no such route' } }));
    })();
  });
  await new Promise<void>((resolve, reject) => {
    https.once('error', reject);
    https.listen(config.listen.port, config.listen.host, () => resolve());
  });
  const address = https.address() as AddressInfo;
  const smtp: InboundSmtp | undefined = config.smtp ? await startInboundSmtp(config.smtp, tls, store, log, (outcome, reason) => metrics.smtpReceived(outcome, reason), config.retention.maxBytesPerAccount) : undefined;
  const metricsListener = config.metrics?.listen ? await startMetricsListener(metrics, config.metrics.listen) : undefined;
  const stopHousekeeping = scheduleHousekeeping(store, config.retention, log);
  const reloader = watchTlsFiles(config.tls, tls, (next) => {
    https.setSecureContext({ key: next.key, cert: next.cert, minVersion: 'TLSv1.2' });
    smtp?.updateTls(next);
  }, log);
  return {
    store,
    host: address.address,
    port: address.port,
    smtpPort: smtp?.port,
    metricsPort: metricsListener?.port,
    reloadTls: () => reloader.reload(),
    close: async () => {
      reloader.close();
      stopHousekeeping();
      push.close();
      await metricsListener?.close();
      await smtp?.close();
      events.closeAll();
      clearInterval(presenceHeartbeat);
      store.events.off('presence', onPresence);
      await endpoint.close();
      store.presence.allGone();
      await new Promise<void>((resolve) => https.close(() => resolve()));
      store.close();
    },
  };
}
